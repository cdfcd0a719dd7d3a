"""Command to read model: intake ``POST /requests`` until the case is in assignment's inbox.

Intake and assignment run as their own processes (``python -m passend_<svc>``), each with
its own database, on the run's broker. Commands go out on a fixed schedule (open loop:
a slow answer doesn't delay the next command, so queueing shows in the figures). Each
latency runs from the command's scheduled send time to the moment the benchmark's poller
first sees the case in the inbox rows of assignment's case-board read model, so it covers
intake's HTTP handling and append, intake's outbox relay, the broker, assignment's routing
reactor and append, assignment's relay, the broker again and the case-board projection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.plan import Bench
from benchmarks.results import Figure, Target, figure, median
from benchmarks.stages.posting import DroppedConnection, JsonPoster
from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_assignment.projections import CASE_BOARD
from passend_backbone import db
from passend_backbone.auth import Role
from passend_backbone.consumer import read_model
from passend_devstack.infra import free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually

P99_TARGET = Target("<", 150, "< 150 ms")
SWV = "swv-waterweg"
SCHOOL = "brin-11aa"
WORKER = "ow-anouk"
WARMUP_SECONDS = 3.0
# Bounds the precision of "first seen"; each poll is one indexed query.
POLL_SECONDS = 0.005
MAX_IN_FLIGHT = 32
RETRIES = 3  # attempts per command on a dropped connection (same Idempotency-Key)
# A backlog this many seconds of commands long means the rate is not sustained: stop there.
MAX_BACKLOG_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[2]
_INBOX = (
    "SELECT case_id FROM cases WHERE case_id = ANY($1::uuid[]) AND swv = $2 "
    "AND receiving_worker_id = $3 AND claimed_by IS NULL AND routed_at IS NOT NULL"
)


def _submission(index: int) -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": WORKER,
        "pupil_ref": f"leerling-bench-{index}",
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [
                {"parent_ref": "ouder-1", "name": "M. Visser", "email": "m.visser@example.nl"}
            ],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en de spelling blijft achter bij de groep.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een leesmaatje.",
        "why_stuck": "Geen groei op de toetsen; de leerkracht weet niet wat nog helpt.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


@contextlib.contextmanager
def _services(
    env_of: dict[str, dict[str, str]], logs: Path
) -> Iterator[dict[str, tuple[str, int]]]:
    """Each service as its own process (yields URL and pid by name); SIGTERM at the end,
    SIGKILL if it lingers."""
    running: list[subprocess.Popen[bytes]] = []
    urls: dict[str, tuple[str, int]] = {}
    try:
        for name, env in env_of.items():
            with (logs / f"{name}.log").open("wb") as out:
                running.append(
                    subprocess.Popen(
                        [sys.executable, "-m", f"passend_{name}"],
                        cwd=ROOT,
                        env={**os.environ, **env},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls[name] = (f"http://127.0.0.1:{env['HTTP_PORT']}", running[-1].pid)
        yield urls
    finally:
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class _Window:
    """The commands of one measured window."""

    sent: dict[uuid.UUID, float] = field(default_factory=dict)  # case id -> scheduled time
    seen: dict[uuid.UUID, float] = field(default_factory=dict)
    answers: list[float] = field(default_factory=list)  # POST round trips
    failed: list[str] = field(default_factory=list)
    unsent: int = 0  # dropped from the schedule once the backlog showed the rate can't be held
    aborted: str = ""
    answered_at: float = 0.0  # when the last answer came


class _Driver:
    def __init__(self, http: JsonPoster, pool: asyncpg.Pool) -> None:
        self.http = http
        self.pool = pool
        self.headers = auth_header(Role.IB, SWV, subject="ib-bench", school_id=SCHOOL)
        self.counter = 0
        self.pending: dict[uuid.UUID, _Window] = {}
        # Commands beyond this wait their turn here, not in the HTTP client's queue (whose
        # bookkeeping grows with its length); their wait still counts from the schedule.
        self.in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def _command(self, window: _Window, scheduled: float) -> None:
        self.counter += 1
        index = self.counter
        async with self.in_flight:
            if window.aborted:
                window.unsent += 1
                return
            key = f"bench-{uuid.uuid4()}"
            for attempt in range(1, RETRIES + 1):
                try:
                    answer = await self.http.post(
                        "/requests",
                        {**self.headers, "Idempotency-Key": key},
                        _submission(index),
                    )
                    break
                except DroppedConnection as exc:
                    # A kept-alive connection the server closed just then: send again with
                    # the same key, as a client should (the first one may have been stored).
                    if attempt == RETRIES:
                        window.failed.append(repr(exc))
                        return
                except (OSError, TimeoutError, ValueError) as exc:
                    window.failed.append(repr(exc))
                    return
        window.answered_at = time.perf_counter()
        window.answers.append(window.answered_at - scheduled)
        if answer.status_code != 201:
            window.failed.append(f"HTTP {answer.status_code}: {answer.text[:200]}")
            return
        case_id = uuid.UUID(answer.json()["case_id"])
        window.sent[case_id] = scheduled
        if case_id not in window.seen:
            self.pending[case_id] = window

    async def poll(self, stop: asyncio.Event) -> None:
        """Note when each pending case first shows in the inbox read model."""
        while not stop.is_set():
            if self.pending:
                async with read_model(self.pool, CASE_BOARD) as conn:
                    rows = await conn.fetch(_INBOX, list(self.pending), SWV, WORKER)
                now = time.perf_counter()
                for row in rows:
                    window = self.pending.pop(row["case_id"], None)
                    if window is not None:
                        window.seen[row["case_id"]] = now
            await asyncio.sleep(POLL_SECONDS)

    async def window(self, rate: float, seconds: float) -> _Window:
        """Send ``rate`` commands per second for ``seconds``; wait until each is seen."""
        window = _Window()
        tasks: list[asyncio.Task[None]] = []
        count = int(rate * seconds)
        start = time.perf_counter() + 0.05
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # the schedule itself, not a synchronisation
            waiting = sum(not t.done() for t in tasks)
            if waiting > rate * MAX_BACKLOG_SECONDS:
                window.aborted = (
                    f"after {i / rate:.0f}s {waiting} commands were waiting: intake answered "
                    f"{len(window.answers) / (time.perf_counter() - start):.0f} commands/s, "
                    f"not {rate:g}/s"
                )
                window.unsent += count - i
                break
            tasks.append(asyncio.create_task(self._command(window, scheduled)))
        await asyncio.gather(*tasks)

        async def all_seen() -> bool:
            return not any(w is window for w in self.pending.values())

        with contextlib.suppress(AssertionError):
            await eventually(all_seen, timeout=60, interval=0.05, what="every case in the inbox")
        return window


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@contextlib.asynccontextmanager
async def _stack_of_services(
    bench: Bench,
) -> AsyncIterator[tuple[dict[str, tuple[str, int]], str]]:
    """Intake and assignment running; yields their URLs and pids, and assignment's database."""
    stack = bench.stack
    env_of: dict[str, dict[str, str]] = {}
    for name in ("intake", "assignment"):
        env_of[name] = {
            **auth_env(),
            "DATABASE_URL": await stack.new_database(f"latency_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
            "KAFKA_BROKER_KIND": stack.kind,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    logs = stack.workdir / "latency-logs"
    logs.mkdir(exist_ok=True)
    try:
        with _services(env_of, logs) as urls:
            yield urls, env_of["assignment"]["DATABASE_URL"]
    finally:
        for env in env_of.values():
            await stack.drop_database(env["DATABASE_URL"])


async def _wait_ready(
    http: httpx.AsyncClient, urls: dict[str, tuple[str, int]], bench: Bench
) -> None:
    async def ready() -> bool:
        for url, _ in urls.values():
            try:
                if (await http.get(f"{url}/health/ready")).status_code != 200:
                    return False
            except httpx.TransportError:
                return False
        return True

    try:
        await eventually(ready, timeout=90, interval=0.1, what="intake and assignment ready")
    except AssertionError:
        logs = bench.stack.workdir / "latency-logs"
        tails = {p.name: p.read_text()[-1500:] for p in logs.glob("*.log")}
        raise RuntimeError(f"services did not become ready; log tails: {tails}") from None


async def run(bench: Bench) -> list[Figure]:
    """p50 and p99 of command-to-inbox latency at a sustained command rate."""
    sizes = bench.sizes
    p50s: list[float] = []
    p99s: list[float] = []
    details: list[dict[str, Any]] = []
    async with (
        _stack_of_services(bench) as (urls, assignment_db),
        httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http,
    ):
        await _wait_ready(http, urls, bench)
        pool = await db.create_pool(assignment_db, min_size=1, max_size=2)
        stop = asyncio.Event()
        poster = JsonPoster(urls["intake"][0])
        driver = _Driver(poster, pool)
        poller = asyncio.create_task(driver.poll(stop))
        try:
            bench.progress(f"latency: warm-up {WARMUP_SECONDS:g}s at {sizes.latency_rate:g}/s")
            await driver.window(sizes.latency_rate, WARMUP_SECONDS)
            for run in range(bench.runs):
                with contextlib.ExitStack() as profiles:
                    for name, (_, pid) in urls.items():
                        profiles.enter_context(bench.profiled(f"latency-{name}-{run}", pid))
                    window = await driver.window(sizes.latency_rate, sizes.latency_seconds)
                latencies = [
                    (window.seen[c] - window.sent[c]) * 1000
                    for c in window.sent
                    if c in window.seen
                ]
                if not latencies:
                    raise RuntimeError(
                        f"no command reached the inbox; failures: {window.failed[:3]}"
                    )
                p50s.append(_percentile(latencies, 50))
                p99s.append(_percentile(latencies, 99))
                detail = {
                    "commands": int(sizes.latency_rate * sizes.latency_seconds),
                    "stored": len(window.sent),
                    "seen": len(latencies),
                    "failed": len(window.failed),
                    "unsent": window.unsent,
                    "aborted": window.aborted,
                    "first_failures": window.failed[:3],
                    "max_ms": round(max(latencies), 2),
                    "post_p50_ms": round(_percentile(window.answers, 50) * 1000, 2),
                    "post_p99_ms": round(_percentile(window.answers, 99) * 1000, 2),
                }
                details.append(detail)
                bench.progress(
                    f"latency run {run + 1}/{bench.runs}: p50 {p50s[-1]:.1f} ms, "
                    f"p99 {p99s[-1]:.1f} ms, max {detail['max_ms']} ms, "
                    f"{detail['seen']}/{detail['commands']} seen, {detail['failed']} failed"
                )
        finally:
            stop.set()
            await poller
            await poster.aclose()
            await pool.close()
    settings = {
        "path": "intake POST /requests -> intake relay -> broker -> assignment routing "
        "reactor -> assignment relay -> broker -> case_board projection (inbox row)",
        "rate_per_s": sizes.latency_rate,
        "seconds": sizes.latency_seconds,
        "warmup_seconds": WARMUP_SECONDS,
        "services": "intake and assignment as OS processes, log level info, JSON logs",
        "max_in_flight": MAX_IN_FLIGHT,
        "client": "benchmarks.stages.posting (HTTP/1.1 keep-alive, JSON bodies)",
        "retries_on_dropped_connection": RETRIES,
        "poll_interval_ms": POLL_SECONDS * 1000,
        "clock": "from the scheduled send time to the poller's first sight (open loop)",
        "runs": details,
    }
    lost = sum(d["stored"] - d["seen"] + d["failed"] + d["unsent"] for d in details)
    aborted = [d["aborted"] for d in details if d["aborted"]]
    note = f"{lost} commands failed, unsent or never reached the inbox" if lost else ""
    if aborted:
        note += f"; rate not sustained: {aborted[0]}"
    return [
        figure(
            "latency_p50",
            f"command to other service's read model, p50 at {sizes.latency_rate:g}/s",
            p50s,
            "ms",
            settings=settings,
            note=note,
        ),
        figure(
            "latency_p99",
            f"command to other service's read model, p99 at {sizes.latency_rate:g}/s",
            p99s,
            "ms",
            P99_TARGET,
            settings=settings,
            note=note,
            met=bool(P99_TARGET.met(median(p99s))) and not lost,
        ),
    ]
