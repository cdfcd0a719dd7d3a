"""The running stack's description in ``<data dir>/stack.json``, for ``passend-dev status``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceState:
    name: str
    url: str
    pid: int
    log: str
    module: str  # with ``name``, what its command line holds, to recognise it later
    restarts: int = 0  # how often the stack started it again after it exited


@dataclass(frozen=True)
class StackState:
    pid: int  # of the passend-dev process that runs the stack
    started_at: float
    database: str
    broker: str
    services: list[ServiceState] = field(default_factory=list)
    broker_pid: int | None = None  # the Tansu process, when the stack started one


def path(data_dir: Path) -> Path:
    return data_dir / "stack.json"


def write(data_dir: Path, stack: StackState) -> None:
    target = path(data_dir)
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(asdict(stack), indent=2) + "\n")
    partial.replace(target)  # readers never see half a file


def read(data_dir: Path) -> StackState | None:
    """The last written state, or None when there is none (or it is unreadable)."""
    try:
        raw = json.loads(path(data_dir).read_text())
        services = [ServiceState(**s) for s in raw.pop("services", [])]
        return StackState(**raw, services=services)
    except (OSError, ValueError, TypeError):
        return None


def remove(data_dir: Path) -> None:
    path(data_dir).unlink(missing_ok=True)
