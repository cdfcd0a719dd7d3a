"""Keeps service processes running as an orchestrator does: one that exits is started again.

Kubernetes restarts a container whose process ended (``restartPolicy: Always``), waiting
longer after each crash in a row and starting over once a run lasted; the dev stack and
the nemesis suite do the same here, and say so in one log line per exit and per start.
Readiness is not the supervisor's business: a process that runs but is not ready is left
alone, as an orchestrator leaves it (it only takes it out of the load balancer).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from passend_devstack.processes import ServiceProcess, stop_services


@dataclass(frozen=True)
class BackOff:
    """How long to wait before starting a process again after it exited."""

    first: float = 1.0
    factor: float = 2.0
    longest: float = 30.0
    stable: float = 60.0  # a run at least this long starts the back-off over

    def delay(self, crashes_in_a_row: int) -> float:
        """The wait before start number ``crashes_in_a_row`` + 1 (1 = the first crash)."""
        steps = max(crashes_in_a_row - 1, 0)
        return float(min(self.first * self.factor**steps, self.longest))


@dataclass
class Supervised:
    """One process the supervisor keeps running, and its restart history."""

    name: str
    start: Callable[[], ServiceProcess]
    process: ServiceProcess
    started_at: float
    restarts: int = 0  # starts after the first
    in_a_row: int = 0  # exits since the last run that lasted ``BackOff.stable``
    due_at: float | None = None  # when it is to be started again; None while it runs

    @property
    def running(self) -> bool:
        return self.due_at is None and self.process.exit_code() is None


def describe_exit(code: int) -> str:
    """``code 1`` or ``signal SIGKILL`` (Popen gives a signal as a negative code)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"code {code}"


class Supervisor:
    """Starts processes, notices the ones that exited and starts them again after a back-off.

    :meth:`check` does the work; call it every half second or so. ``say`` gets the log
    lines, ``on_start`` every (re)started process (the dev stack writes its new pid to
    ``stack.json``), ``on_exit`` every exit (the dev stack shows the log's tail).
    """

    def __init__(
        self,
        *,
        say: Callable[[str], None],
        backoff: BackOff | None = None,
        on_start: Callable[[Supervised], None] | None = None,
        on_exit: Callable[[Supervised, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say = say
        self.backoff = backoff or BackOff()
        self.on_start = on_start
        self.on_exit = on_exit
        self.clock = clock
        self._services: dict[str, Supervised] = {}

    def __iter__(self) -> Iterator[Supervised]:
        return iter(list(self._services.values()))

    def __getitem__(self, name: str) -> Supervised:
        return self._services[name]

    @property
    def processes(self) -> list[ServiceProcess]:
        """The current process of every supervised service."""
        return [s.process for s in self._services.values()]

    def run(self, name: str, start: Callable[[], ServiceProcess]) -> Supervised:
        """Start ``start()`` as ``name`` and keep it running from now on."""
        if name in self._services:
            raise ValueError(f"{name} is supervised already")
        supervised = Supervised(name, start, start(), self.clock())
        self._services[name] = supervised
        if self.on_start is not None:
            self.on_start(supervised)
        return supervised

    def release(self, name: str) -> ServiceProcess:
        """Stop supervising ``name`` (to stop it on purpose); returns its process."""
        return self._services.pop(name).process

    def check(self) -> None:
        """Notice exits, schedule restarts, and start the ones whose wait is over."""
        now = self.clock()
        for supervised in list(self._services.values()):
            if supervised.due_at is not None:
                if now >= supervised.due_at:
                    self._restart(supervised, now)
                continue
            code = supervised.process.exit_code()
            if code is not None:
                self._exited(supervised, code, now)

    def _exited(self, supervised: Supervised, code: int, now: float) -> None:
        lasted = now - supervised.started_at
        supervised.in_a_row = 1 if lasted >= self.backoff.stable else supervised.in_a_row + 1
        delay = self.backoff.delay(supervised.in_a_row)
        supervised.due_at = now + delay
        self.say(
            f"{supervised.name} (pid {supervised.process.pid}) exited with {describe_exit(code)} "
            f"after {lasted:.0f}s; starting it again in {delay:g}s "
            f"(restart {supervised.restarts + 1}, {supervised.in_a_row} in a row)"
        )
        if self.on_exit is not None:
            self.on_exit(supervised, code)

    def _restart(self, supervised: Supervised, now: float) -> None:
        old = supervised.process
        old.signal_group(signal.SIGKILL)  # anything it left behind in its group
        old.close_log()
        try:
            supervised.process = supervised.start()
        except OSError as exc:
            supervised.in_a_row += 1
            delay = self.backoff.delay(supervised.in_a_row)
            supervised.due_at = now + delay
            self.say(f"{supervised.name} could not be started ({exc}); trying again in {delay:g}s")
            return
        supervised.due_at = None
        supervised.started_at = now
        supervised.restarts += 1
        self.say(f"{supervised.name} started again as pid {supervised.process.pid}")
        if self.on_start is not None:
            self.on_start(supervised)

    def stop_all(self, grace: float) -> list[str]:
        """Stop every supervised process (SIGTERM, SIGKILL after ``grace``); none restarts.

        Returns the service names of the ones that had to be killed.
        """
        processes = self.processes
        self._services.clear()
        return stop_services(processes, grace)
