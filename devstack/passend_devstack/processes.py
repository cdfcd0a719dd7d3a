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
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
    entry: ServiceEntry,
    port: int,
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path,
    *,
    host: str = "127.0.0.1",
    prefix: Sequence[str] = (),
) -> ServiceProcess:
    """The entry's command with ``env``; stdout and stderr appended to ``log_path``.

    ``prefix`` goes before the command (``ip netns exec <name>`` runs it in a network
    namespace; it execs, so the pid is the service's); ``host`` is where it listens.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by ServiceProcess.close_log
    process = subprocess.Popen(
        [*prefix, *entry.command()],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return ServiceProcess(entry, port, log_path, process, log_file, host)


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


def is_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: the signal answered
    return state != "Z"


def command_line(pid: int) -> str:
    """The command line of ``pid`` with spaces between the arguments ("" when gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def runs_service(pid: int, name: str, module: str) -> bool:
    """Whether ``pid`` is alive and runs service ``name`` (a pid may have been reused)."""
    line = command_line(pid)
    # The console script, or ``-m <module>`` (catalog.ServiceEntry.command).
    return is_alive(pid) and (f"/passend-{name}" in line or f"-m {module}" in line)


def listening_pid(port: int, host: str = "127.0.0.1") -> int | None:
    """The process that listens on TCP ``host:port`` in this network namespace, if any.

    Read from ``/proc/net/tcp`` (the socket's inode) and the processes' open files, so it
    finds a listener the dev stack did not start, too. None when nothing listens or the
    holder is not visible to this user.
    """
    inodes: set[str] = set()
    wanted = {f"{_hex_address(host)}:{port:04X}", f"00000000:{port:04X}"}
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        cells = line.split()
        if len(cells) > 9 and cells[1] in wanted and cells[3] == "0A":  # 0A: LISTEN
            inodes.add(cells[9])
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(entry.name)
        except OSError:
            continue
    return None


def _hex_address(host: str) -> str:
    """``127.0.0.1`` as /proc/net/tcp writes it (little-endian hex)."""
    return socket.inet_aton(host)[::-1].hex().upper()
