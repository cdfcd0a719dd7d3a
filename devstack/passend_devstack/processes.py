"""Service processes of the dev stack: start in their own process group, wait ready, stop.

Each service runs in a session of its own, so a Ctrl-C in the terminal reaches only the
dev stack, which then stops the services in order (they get SIGTERM and shut down
cleanly) instead of all of them dying at once mid-transaction.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from passend_devstack.catalog import ServiceEntry


@dataclass
class ServiceProcess:
    """One running service."""

    entry: ServiceEntry
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    _log_file: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        """None while it runs."""
        return self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the service's log, to show why it stopped."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def signal_group(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the service and everything it started."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def close_log(self) -> None:
        self._log_file.close()


def start_service(
    entry: ServiceEntry, port: int, env: Mapping[str, str], log_path: Path, cwd: Path
) -> ServiceProcess:
    """The entry's command with ``env``; stdout and stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by ServiceProcess.close_log
    process = subprocess.Popen(
        entry.command(),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return ServiceProcess(entry, port, log_path, process, log_file)


def is_ready(url: str, timeout: float = 1.0) -> bool:
    """Whether ``<url>/health/ready`` answers 200."""
    try:
        return httpx.get(f"{url}/health/ready", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class ServiceFailed(Exception):
    """A service exited or didn't become ready; the message holds its log's tail."""


def wait_ready(
    services: Sequence[ServiceProcess],
    timeout: float,
    cancelled: Callable[[], bool],
    poll: float = 0.2,
) -> None:
    """Block until every service answers ready; raise :class:`ServiceFailed` otherwise."""
    deadline = time.monotonic() + timeout
    waiting = list(services)
    while waiting:
        if cancelled():
            return
        for service in list(waiting):
            code = service.exit_code()
            if code is not None:
                raise ServiceFailed(
                    f"{service.entry.name} exited with code {code} while starting; "
                    f"the end of {service.log_path}:\n{service.log_tail()}"
                )
            if is_ready(service.url):
                waiting.remove(service)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(s.entry.name for s in waiting)
            tails = "\n".join(f"--- {s.log_path}\n{s.log_tail()}" for s in waiting)
            raise ServiceFailed(f"not ready after {timeout:g}s: {names}\n{tails}")
        if waiting:
            time.sleep(poll)


def stop_services(services: Sequence[ServiceProcess], grace: float) -> list[str]:
    """SIGTERM every service, wait up to ``grace`` seconds, then SIGKILL what's left.

    Returns the names of services that had to be killed.
    """
    for service in services:
        if service.exit_code() is None:
            service.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    killed: list[str] = []
    for service in services:
        try:
            service.process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            killed.append(service.entry.name)
            service.signal_group(signal.SIGKILL)
            service.process.wait()
        # Anything the service itself started goes with it.
        service.signal_group(signal.SIGKILL)
        service.close_log()
    return killed


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on host:port (so a service can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True
