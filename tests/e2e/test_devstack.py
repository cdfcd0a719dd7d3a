"""`passend-dev up` starts everything, says where it runs, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from passend_devstack.catalog import SERVICE_NAMES
from passend_devstack.infra import free_ports

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]

ROOT = Path(__file__).resolve().parents[2]
FAKE = "tests.integration.fake_service"
BANNER = "Passend is running."


@dataclass
class Stack:
    process: subprocess.Popen[str]
    base_port: int
    lines: list[str] = field(default_factory=list)
    pending: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The next line of output holding ``text`` (lines before it are kept too)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.pending.get(timeout=max(deadline - time.monotonic(), 0.1))
            except queue.Empty:
                raise AssertionError(
                    f"no line with {text!r} in {timeout}s:\n{self.output}"
                ) from None
            assert line is not None, f"passend-dev ended before {text!r}:\n{self.output}"
            self.lines.append(line)
            if text in line:
                return line

    def url(self, service: str) -> str:
        """The URL the printed table gives for ``service``."""
        for line in self.lines:
            cells = line.split()
            if cells and cells[0] == service:
                return cells[1]
        raise AssertionError(f"{service} is not in the table:\n{self.output}")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory outside pytest's tmp_path.

    pytest resets its base directory to mode 0700 at every session start, which locks
    out the PostgreSQL server user when suites run side by side.
    """
    with tempfile.TemporaryDirectory(prefix="passend-e2e-", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp) / "dev"


def passend_dev() -> list[str]:
    script = Path(sys.executable).parent / "passend-dev"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "passend_devstack.cli"]


@contextmanager
def stack_up(data_dir: Path, services: int = 2, timeout: float = 60) -> Iterator[Stack]:
    """``passend-dev up`` running until the printed table is complete; SIGINT at the end.

    ``services`` fake services; with none, the project's own services run.
    """
    # Services with names of their own come after the known ones.
    base = free_ports(len(SERVICE_NAMES) + services)
    command = [*passend_dev(), "--data-dir", str(data_dir), "up", "--base-port", str(base)]
    for i in range(services):
        command += ["--service", f"fake{i}={FAKE}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stack = Stack(process, base)
    lines = stack.pending

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        while not any(line.strip().startswith("Dev tokens:") for line in stack.lines):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"passend-dev ended early:\n{stack.output}"
            stack.lines.append(line)
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=45)
        finally:
            if process.poll() is None:
                process.kill()
        while (line := lines.get(timeout=5)) is not None:
            stack.lines.append(line)


def processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process."""
    found: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name in parentheses may hold spaces: split after the last ')'.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry.name)] = (int(ppid), state, cmdline)
    return found


def stack_processes(root_pid: int, data_dir: Path) -> set[int]:
    """The stack's processes: descendants of passend-dev, and PostgreSQL (which daemonizes)."""
    table = processes()
    members = {root_pid} | {pid for pid, (_, _, cmd) in table.items() if str(data_dir) in cmd}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _, _) in table.items() if ppid in members}
        grew = not children <= members
        members |= children
    return members - {root_pid}


def alive(pids: set[int]) -> set[int]:
    table = processes()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def test_up_prints_the_table_and_ctrl_c_stops_every_process(data_dir: Path) -> None:
    with stack_up(data_dir) as stack:
        for url in (stack.url("fake0"), stack.url("fake1")):
            assert url.startswith("http://127.0.0.1:")
            assert f"{url}/docs" in stack.output
            assert httpx.get(f"{url}/health/ready", timeout=5).status_code == 200
        assert "passend_fake0" in stack.output, "the table names each service's database"
        assert "fake1.log" in stack.output, "the table names each service's log file"
        members = stack_processes(stack.process.pid, data_dir)
        commands = " ".join(processes()[pid][2] for pid in members if pid in processes())
        assert commands.count(f"-m {FAKE}") == 2
        if "DATABASE_URL" not in os.environ:
            assert "postgres" in commands
        assert len(members) >= 3

    assert stack.process.returncode == 0, stack.output
    assert "Killed" not in stack.output, "every service stopped on SIGTERM in time"
    assert alive(members) == set(), f"left running: {alive(members)}\n{stack.output}"
    for i in range(2):
        log = (data_dir / "logs" / f"fake{i}.log").read_text()
        assert '"service_stopped"' in log, "each service shut down cleanly"


def test_up_after_a_killed_run_cleans_up_keeps_the_data_and_republishes(data_dir: Path) -> None:
    with stack_up(data_dir, services=1) as first:
        left = stack_processes(first.process.pid, data_dir)
        first.process.kill()  # SIGKILL: no chance to stop its services
        first.process.wait()
    assert alive(left), "a SIGKILLed passend-dev leaves its services running"
    shown = subprocess.run(
        [*passend_dev(), "--data-dir", str(data_dir), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 1 and "is gone: nothing restarts its services" in shown.stdout

    with stack_up(data_dir, services=1) as second:
        assert "left behind" in second.output
        greetings = httpx.get(f"{second.url('fake0')}/greetings", timeout=5)
        # The fake service's background work wrote 'started' in the first run, 'stopped'
        # when the second run stopped the leftover, and 'started' again: the database
        # survived, and the leftover was stopped cleanly.
        assert greetings.json()["count"] == 3
        members = stack_processes(second.process.pid, data_dir)
    assert second.process.returncode == 0, second.output
    assert alive(left | members) == set(), second.output
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        log = (data_dir / "logs" / "fake0.log").read_text()
        assert log.count('"republishing_all_events"') == 2, "each start on a fresh broker"
