"""Which services the dev stack runs, and the names derived from each."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Every service, in the order they are started and listed; ports follow this order
# (8001 intake ... 8004 notifications, 8005 the integration gateway); the portal, which
# people open in a browser, sits just below them (8000).
SERVICE_NAMES: tuple[str, ...] = (
    "intake",
    "assignment",
    "trajectory",
    "notifications",
    "gateway",
    "portal",
)
# Processes that own no data: no database is made for them.
WITHOUT_DATABASE = frozenset({"portal"})
_OFFSET_OVERRIDES = {"portal": -1}


@dataclass(frozen=True)
class ServiceEntry:
    """One service process with its own database.

    A service of this project runs as its console script ``passend-<name>``, the command
    its container image runs; another module (a test's fake service) as
    ``python -m <module>``.
    """

    name: str
    module: str

    def command(self) -> list[str]:
        """The command line that starts the service."""
        script = Path(sys.executable).parent / f"passend-{self.name}"
        if self.module == f"passend_{self.name}" and script.exists():
            return [str(script)]
        return [sys.executable, "-m", self.module]

    @property
    def database(self) -> str:
        """The name of the service's own database on the dev PostgreSQL server."""
        return f"passend_{self.name}"

    @property
    def owns_data(self) -> bool:
        """Whether the process has a database of its own (the portal has none)."""
        return self.name not in WITHOUT_DATABASE

    def problem(self, cwd: Path) -> str | None:
        """Why ``python -m <module>`` started in ``cwd`` would fail to start, or None."""
        # ``python -m`` puts its working directory first on sys.path; look the same way.
        sys.path.insert(0, str(cwd))
        try:
            found = importlib.util.find_spec(f"{self.module}.__main__") is not None
        except ModuleNotFoundError:
            found = False
        except Exception as exc:  # the package is there but broken: say how
            return f"importing {self.module} fails: {type(exc).__name__}: {exc}"
        finally:
            sys.path.remove(str(cwd))
        return None if found else f"{self.module} (with a __main__) is not installed"


def port_offsets(entries: Sequence[ServiceEntry]) -> dict[str, int]:
    """Each service's distance from the base port.

    The known services keep their place (intake +0 ... gateway +4) whichever of them run,
    so a service's URL doesn't depend on the others; other names come after them.
    """
    offsets: dict[str, int] = {}
    extra = len(SERVICE_NAMES)
    for entry in entries:
        if entry.name in _OFFSET_OVERRIDES:
            offsets[entry.name] = _OFFSET_OVERRIDES[entry.name]
        elif entry.name in SERVICE_NAMES:
            offsets[entry.name] = SERVICE_NAMES.index(entry.name)
        else:
            offsets[entry.name] = extra
            extra += 1
    return offsets


def default_services() -> list[ServiceEntry]:
    """Every service, module ``passend_<name>`` each."""
    return [ServiceEntry(name, f"passend_{name}") for name in SERVICE_NAMES]


def parse_services(specs: Sequence[str]) -> list[ServiceEntry]:
    """``NAME`` or ``NAME=MODULE`` arguments into entries (``NAME`` means ``passend_NAME``)."""
    entries: list[ServiceEntry] = []
    for spec in specs:
        name, _, module = spec.partition("=")
        name = name.strip()
        if not name.isidentifier():
            raise ValueError(f"service name {name!r} must be a Python identifier, like intake")
        entries.append(ServiceEntry(name, module.strip() or f"passend_{name}"))
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"a service is named twice in {names}")
    return entries
