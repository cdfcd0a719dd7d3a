"""`passend-dev up` starts a killed service again after a back-off; `status` tells what runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from passend_devstack import state
from tests.e2e.test_devstack import ROOT, passend_dev, stack_processes, stack_up

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]

# A process someone started by hand on a service's port: it answers 200 to everything,
# /health/ready included, as a hand-started copy of the service would.
HAND_STARTED = """
import http.server, sys
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ready"}')
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ready).serve_forever()
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory outside pytest's tmp_path (see test_devstack's ``data_dir``)."""
    with tempfile.TemporaryDirectory(prefix="passend-sup-", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp) / "dev"


def status(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*passend_dev(), "--data-dir", str(data_dir), "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def recorded_pid(data_dir: Path, name: str) -> int:
    running = state.read(data_dir)
    assert running is not None
    return next(s.pid for s in running.services if s.name == name)


def until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(0.2)


def test_a_killed_service_is_started_again_after_a_back_off_and_status_names_its_pid(
    data_dir: Path,
) -> None:
    with stack_up(data_dir, services=1) as stack:
        first = recorded_pid(data_dir, "fake0")
        shown = status(data_dir)
        assert shown.returncode == 0, shown.stdout
        assert f"pid {first}  ready" in shown.stdout

        os.kill(first, signal.SIGKILL)
        line = stack.wait_for("fake0 (pid")
        assert f"fake0 (pid {first}) exited with signal SIGKILL" in line
        assert "starting it again in 1s (restart 1, 1 in a row)" in line
        second = int(stack.wait_for("fake0 started again as pid").rsplit(" ", 1)[1])
        assert second != first
        until(
            lambda: f"pid {second}, restarted 1x  ready" in status(data_dir).stdout,
            "status naming the new pid as ready",
        )
        assert status(data_dir).returncode == 0

        # Killed again soon after its start: the wait doubles.
        os.kill(second, signal.SIGKILL)
        assert "starting it again in 2s (restart 2, 2 in a row)" in stack.wait_for("fake0 (pid")
        third = int(stack.wait_for("fake0 started again as pid").rsplit(" ", 1)[1])
        until(lambda: status(data_dir).returncode == 0, "ready after the second restart")
        members = stack_processes(stack.process.pid, data_dir)
        assert third in members

    assert stack.process.returncode == 0, stack.output
    log = (data_dir / "logs" / "fake0.log").read_text()
    assert log.count('"http_listening"') == 3, "three starts, one log"


def test_status_tells_a_service_that_is_gone_from_one_started_by_hand(data_dir: Path) -> None:
    with stack_up(data_dir, services=1) as stack:
        port = urlsplit(stack.url("fake0")).port
        assert port is not None
        pid = recorded_pid(data_dir, "fake0")
        # Stopped, the stack can't start the service again: what status says is all there is.
        stack.process.send_signal(signal.SIGSTOP)
        try:
            os.kill(pid, signal.SIGKILL)
            until(lambda: "NOT RUNNING" in status(data_dir).stdout, "status noticing the kill")
            shown = status(data_dir)
            assert shown.returncode == 1
            assert "fake0" in shown.stdout and f"NOT RUNNING (pid {pid} is gone)" in shown.stdout

            hand = subprocess.Popen([sys.executable, "-c", HAND_STARTED, str(port)])
            try:
                until(
                    lambda: _answers(f"http://127.0.0.1:{port}/health/ready"),
                    "the hand-started process answering",
                )
                shown = status(data_dir)
                assert shown.returncode == 1, "something answers, but not the stack's service"
                assert f"port {port} is held by pid {hand.pid}, which the stack did not start" in (
                    shown.stdout
                )
            finally:
                hand.terminate()
                hand.wait()
        finally:
            stack.process.send_signal(signal.SIGCONT)
        stack.wait_for("fake0 started again as pid")
        until(lambda: status(data_dir).returncode == 0, "the stack's own service ready again")
    assert stack.process.returncode == 0, stack.output


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
