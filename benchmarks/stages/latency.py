"""Command to read model: intake ``POST /requests`` until the case is in assignment's inbox.

Intake and assignment run as their own processes (``python -m passend_<svc>``), each with
its own database, on the run's broker. Commands go out on a fixed schedule for one long
window (open loop: a slow answer doesn't delay the next command, so queueing shows),
reported per slice of it ("minute"): a rate that holds for one minute and not the next
shows as a minute worse than the others. Each command is followed until the benchmark's
poller first sees the case in the inbox rows of assignment's case-board read model; its
latency counts **from the 2xx** the client received (the figure the targets judge) and,
for reference, from its scheduled send time. The way covers intake's HTTP handling and
append, intake's outbox relay, the broker, and assignment's routing reactor, whose append
applies the case board in the same transaction (a service's own events reach its own read
models without a second way through the broker: ``passend_backbone.consumer.inline``).

**Hops.** The services run with hop traces on (``passend_backbone.hoptrace``): every HTTP
request, append, relay step and consumed batch writes when it started and ended, with
the correlation ids it carried. The driver gives each command a correlation id of its
own, and the services keep it on every event and reaction the command causes, so the
traces give each command's time per hop, in order, adding up to its whole latency.
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
import orjson

from benchmarks import cpu
from benchmarks.plan import Bench
from benchmarks.results import Figure, OneLine, Target, detail_table, figure
from benchmarks.stages.posting import DroppedConnection, JsonPoster
from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_assignment.projections import CASE_BOARD
from passend_backbone import db, hoptrace, topics
from passend_backbone.auth import Role
from passend_backbone.consumer import read_model
from passend_contracts import topics as contract_topics
from passend_devstack.infra import free_port
from passend_devstack.sealing_keys import sealing_env
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually

P50_TARGET = Target("<", 40, "< 40 ms")
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
# The consumers on the way, by name (assignment's routing reactor and case board).
_ROUTING = "routing"
_INTAKE_SOURCE = "/passend/intake"

# Each command's way as consecutive hops: (name, from moment, to moment). They add up to
# the latency from the scheduled send to the poller's first sight.
HOPS: tuple[tuple[str, str, str], ...] = (
    ("client -> intake handler (queue, TCP, HTTP parsing)", "scheduled", "http_start"),
    ("intake handler -> its append returned", "http_start", "intake_appended"),
    ("intake append -> relay read the row (commit, wake-up)", "intake_appended", "intake_read"),
    ("intake relay: produce, broker ack", "intake_read", "intake_acked"),
    ("broker -> routing reactor handed the batch (fetch)", "intake_acked", "routing_start"),
    ("routing reactor: parse, route, append", "routing_start", "routing_appended"),
    ("case board applied in the append's transaction", "routing_appended", "board_applied"),
    ("routing reactor: commit, offsets", "board_applied", "routing_committed"),
    ("committed -> seen by the benchmark's poller", "routing_committed", "seen"),
)
# Shown next to the hops: when the client had its answer.
_ANSWER = ("intake handler -> 2xx at the client", "http_start", "answered")


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
class _Command:
    """One command: its correlation id and, in wall-clock seconds, when things happened."""

    index: int
    correlation_id: str
    scheduled: float
    answered: float = 0.0
    seen: float = 0.0
    case_id: uuid.UUID | None = None


@dataclass
class _Window:
    """The commands of one measured window."""

    commands: list[_Command] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unsent: int = 0  # dropped from the schedule once the backlog showed the rate can't be held
    aborted: str = ""


class _Driver:
    def __init__(self, http: JsonPoster, pool: asyncpg.Pool) -> None:
        self.http = http
        self.pool = pool
        self.headers = auth_header(Role.IB, SWV, subject="ib-bench", school_id=SCHOOL)
        self.counter = 0
        self.run = uuid.uuid4().hex[:6]
        self.pending: dict[uuid.UUID, _Command] = {}
        # Commands beyond this wait their turn here, not in the HTTP client's queue (whose
        # bookkeeping grows with its length); their wait still counts from the schedule.
        self.in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        # perf_counter for the schedule, wall-clock seconds for comparing with the traces.
        self.wall_offset = time.time() - time.perf_counter()

    def wall(self, perf: float) -> float:
        return perf + self.wall_offset

    async def _command(self, window: _Window, scheduled: float) -> None:
        self.counter += 1
        command = _Command(self.counter, f"b{self.run}-{self.counter}", self.wall(scheduled))
        async with self.in_flight:
            if window.aborted:
                window.unsent += 1
                return
            key = f"bench-{uuid.uuid4()}"
            headers = {
                **self.headers,
                "Idempotency-Key": key,
                "X-Correlation-ID": command.correlation_id,
            }
            for attempt in range(1, RETRIES + 1):
                try:
                    answer = await self.http.post("/requests", headers, _submission(command.index))
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
        command.answered = self.wall(time.perf_counter())
        if answer.status_code != 201:
            window.failed.append(f"HTTP {answer.status_code}: {answer.text[:200]}")
            return
        command.case_id = uuid.UUID(answer.json()["case_id"])
        window.commands.append(command)
        if not command.seen:
            self.pending[command.case_id] = command

    async def poll(self, stop: asyncio.Event) -> None:
        """Note when each pending case first shows in the inbox read model."""
        while not stop.is_set():
            if self.pending:
                async with read_model(self.pool, CASE_BOARD) as conn:
                    rows = await conn.fetch(_INBOX, list(self.pending), SWV, WORKER)
                now = self.wall(time.perf_counter())
                for row in rows:
                    command = self.pending.pop(row["case_id"], None)
                    if command is not None:
                        command.seen = now
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
            tasks = [t for t in tasks if not t.done()]
            if len(tasks) > rate * MAX_BACKLOG_SECONDS:
                answered = len(window.commands) + len(window.failed)
                window.aborted = (
                    f"after {i / rate:.0f}s {len(tasks)} commands were waiting: intake "
                    f"answered {answered / (time.perf_counter() - start):.0f} commands/s, "
                    f"not {rate:g}/s"
                )
                window.unsent += count - i
                break
            tasks.append(asyncio.create_task(self._command(window, scheduled)))
        await asyncio.gather(*tasks)
        mine = {id(c) for c in window.commands}

        async def all_seen() -> bool:
            return not any(id(c) in mine for c in self.pending.values())

        with contextlib.suppress(AssertionError):
            await eventually(all_seen, timeout=60, interval=0.05, what="every case in the inbox")
        return window


def _processes(bench: Bench, urls: dict[str, tuple[str, int]]) -> dict[str, cpu.Pids]:
    """The processes whose CPU the stage reports, by what they are."""
    return {
        "intake (HTTP, append, relay, its consumers)": cpu.these(urls["intake"][1]),
        "assignment (routing, relay, its consumers)": cpu.these(urls["assignment"][1]),
        "broker": cpu.these(bench.stack.broker.pid),
        "PostgreSQL (every postgres process)": cpu.named("postgres"),
        "benchmark (client, poller)": cpu.these(os.getpid()),
    }


def _cpu_table(spent: dict[str, float], elapsed: float, commands: int) -> dict[str, Any]:
    """CPU per process group while the window ran: seconds, cores, ms per command."""
    rows: list[list[Any]] = [
        [name, seconds, seconds / elapsed, seconds * 1000 / max(commands, 1)]
        for name, seconds in spent.items()
    ]
    total = sum(spent.values())
    rows.append(["all of these", total, total / elapsed, total * 1000 / max(commands, 1)])
    return detail_table(
        f"CPU while the window ran ({elapsed:.0f} s; the machine has {os.cpu_count()} cores)",
        ["processes", "CPU s", "cores busy", "CPU ms per command"],
        rows,
    )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# -- hop traces ------------------------------------------------------------------------


def read_traces(paths: list[Path]) -> list[dict[str, Any]]:
    """Every span of the services' trace files (a line cut off by a stop is skipped)."""
    spans: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                spans.append(orjson.loads(line))
    return spans


def moments(spans: list[dict[str, Any]], wanted: set[str]) -> dict[str, dict[str, float]]:
    """Per correlation id in ``wanted``: the moments of its way (wall-clock seconds).

    Of several spans of one kind for a command (a relay step that read only some of its
    events, say) the first counts: the way goes on as soon as the first one is there.
    """
    found: dict[str, dict[str, float]] = {c: {} for c in wanted}

    def note(c: str, name: str, ns: int) -> None:
        if ns and (name not in found[c] or ns / 1e9 < found[c][name]):
            found[c][name] = ns / 1e9

    for span in spans:
        kind = span["span"]
        for c in span["c"]:
            if c not in found:
                continue
            if kind == "http":
                note(c, "http_start", span["t0"])
                note(c, "http_end", span["t1"])
            elif kind == "append":
                where = "intake" if span["source"] == _INTAKE_SOURCE else "assignment"
                note(c, f"{where}_appended", span["t1"])
            elif kind == "inline" and span["topic"] == contract_topics.ASSIGNMENT:
                note(c, "routing_appended", span["t0"])
                note(c, "board_applied", span["t1"])
            elif kind == "relay":
                where = "intake" if span["source"] == _INTAKE_SOURCE else "assignment"
                note(c, f"{where}_read", span["read"])
                note(c, f"{where}_acked", span["acked"])
            elif kind == "consume" and span["consumer"] == _ROUTING:
                note(c, "routing_start", span["t0"])
                note(c, "routing_committed", span["applied"])
    return found


def hop_durations(way: dict[str, float]) -> dict[str, float] | None:
    """The command's hops in milliseconds; ``None`` when a moment is missing."""
    hops: dict[str, float] = {}
    for name, start, end in (*HOPS, _ANSWER):
        if start not in way or end not in way:
            return None
        hops[name] = (way[end] - way[start]) * 1000
    return hops


# The moments of a command's way in its exported trace, in order (see :func:`command_traces`).
TRACE_MOMENTS: tuple[str, ...] = (
    *(end for _, _, end in HOPS[:-1]),
    "seen",
    "answered",
)


def command_traces(window: _Window, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """Every command's trace for the results file: one row per command, in send order.

    A row is the command's number, its send time (seconds from the window's first send)
    and, in milliseconds after that send, each moment of :data:`TRACE_MOMENTS` (``None``
    when its span is missing): consecutive moments are the per-hop spans, so any hop of
    any command can be read back from the file.
    """
    commands = sorted(window.commands, key=lambda c: c.scheduled)
    start = commands[0].scheduled if commands else 0.0
    ways = moments(spans, {c.correlation_id for c in commands})
    rows: list[OneLine] = []
    for c in commands:
        way = dict(ways.get(c.correlation_id, {}))
        if c.answered:
            way["answered"] = c.answered
        if c.seen:
            way["seen"] = c.seen
        offsets = [
            round((way[name] - c.scheduled) * 1000, 1) if name in way else None
            for name in TRACE_MOMENTS
        ]
        rows.append(OneLine([c.index, round(c.scheduled - start, 3), *offsets]))
    return {
        "columns": ["command", "sent_s", *(f"{name}_ms" for name in TRACE_MOMENTS)],
        "hops": [[name, start_at, end_at] for name, start_at, end_at in (*HOPS, _ANSWER)],
        "rows": rows,
    }


# -- the stage -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _stack_of_services(
    bench: Bench,
) -> AsyncIterator[tuple[dict[str, tuple[str, int]], str, dict[str, Path]]]:
    """Intake and assignment running; yields their URLs and pids, assignment's database,
    and each service's hop-trace file."""
    stack = bench.stack
    logs = stack.workdir / "latency-logs"
    logs.mkdir(exist_ok=True)
    traces = {
        name: logs / f"{name}.{uuid.uuid4().hex[:6]}.trace" for name in ("intake", "assignment")
    }
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
            hoptrace.ENV_VAR: str(traces[name]),
            # The key-encryption keys the services refuse to start without, as `make up`
            # makes them (from the environment where it gives them).
            **sealing_env(stack.workdir, os.environ, name),
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    await _topics_as_planned(stack.bootstrap)
    try:
        with _services(env_of, logs) as urls:
            yield urls, env_of["assignment"]["DATABASE_URL"], traces
    finally:
        for env in env_of.values():
            await stack.drop_database(env["DATABASE_URL"])


async def _topics_as_planned(bootstrap: str) -> None:
    """Every service's topics with their planned partitions and settings, as `make up` and
    the operator's `passend-ops topics apply` make them: a service is not ready before."""
    settings = topics.TopicSettings(kafka_bootstrap_servers=bootstrap)
    wanted = topics.plan(topics.load_catalogue(), (), settings.kafka_topic_prefix)
    report = await topics.apply(topics.KafkaTopics(bootstrap), wanted, settings.durability())
    if not report.ok:
        raise RuntimeError("topics not as planned: " + "; ".join(report.remaining))


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


def _ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q), 2) if values else None


def summarise(
    window: _Window, spans: list[dict[str, Any]], slice_seconds: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per slice of the window: latencies and counts; per hop: p50/p90/p99 overall and p50
    per slice."""
    commands = window.commands
    if not commands:
        return [], []
    start = min(c.scheduled for c in commands)
    ways = moments(spans, {c.correlation_id for c in commands})
    slices: dict[int, list[_Command]] = {}
    for c in commands:
        slices.setdefault(int((c.scheduled - start) // slice_seconds), []).append(c)
    minutes: list[dict[str, Any]] = []
    per_slice_hops: dict[int, dict[str, list[float]]] = {}
    all_hops: dict[str, list[float]] = {name: [] for name, _, _ in (*HOPS, _ANSWER)}
    for number in sorted(slices):
        members = slices[number]
        seen = [c for c in members if c.seen]
        from_answer = [(c.seen - c.answered) * 1000 for c in seen]
        from_send = [(c.seen - c.scheduled) * 1000 for c in seen]
        posts = [(c.answered - c.scheduled) * 1000 for c in members]
        hops: dict[str, list[float]] = {name: [] for name in all_hops}
        traced = 0
        for c in seen:
            way = dict(ways.get(c.correlation_id, {}))
            way.update(scheduled=c.scheduled, answered=c.answered, seen=c.seen)
            durations = hop_durations(way)
            if durations is None:
                continue
            traced += 1
            for name, ms in durations.items():
                hops[name].append(ms)
                all_hops[name].append(ms)
        per_slice_hops[number] = hops
        minutes.append(
            {
                "slice": number + 1,
                "from_s": round(number * slice_seconds, 1),
                "stored": len(members),
                "seen": len(seen),
                "traced": traced,
                "p50_ms": _ms(from_answer, 50),
                "p99_ms": _ms(from_answer, 99),
                "max_ms": round(max(from_answer), 2) if from_answer else None,
                "p50_from_send_ms": _ms(from_send, 50),
                "p99_from_send_ms": _ms(from_send, 99),
                "post_p50_ms": _ms(posts, 50),
                "post_p99_ms": _ms(posts, 99),
            }
        )
    hop_rows: list[dict[str, Any]] = []
    for name in all_hops:
        values = all_hops[name]
        hop_rows.append(
            {
                "hop": name,
                "p50_ms": _ms(values, 50),
                "p90_ms": _ms(values, 90),
                "p99_ms": _ms(values, 99),
                "p50_per_slice_ms": [_ms(per_slice_hops[n][name], 50) for n in sorted(slices)],
            }
        )
    return minutes, hop_rows


async def run(bench: Bench) -> list[Figure]:
    """Command-to-inbox latency at a sustained rate, per slice of one long window, with the
    hops of every command."""
    sizes = bench.sizes
    async with (
        _stack_of_services(bench) as (urls, assignment_db, traces),
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
            bench.progress(
                f"latency: {sizes.latency_seconds:g}s at {sizes.latency_rate:g}/s, reported "
                f"per {sizes.latency_slice_seconds:g}s"
            )
            processes = _processes(bench, urls)
            before, started = cpu.snapshot(processes), time.perf_counter()
            with contextlib.ExitStack() as profiles:
                for name, (_, pid) in urls.items():
                    profiles.enter_context(bench.profiled(f"latency-{name}", pid))
                window = await driver.window(sizes.latency_rate, sizes.latency_seconds)
            spent = cpu.used(before, cpu.snapshot(processes))
            elapsed = time.perf_counter() - started
        finally:
            stop.set()
            await poller
            await poster.aclose()
            await pool.close()
    if not any(c.seen for c in window.commands):
        raise RuntimeError(f"no command reached the inbox; failures: {window.failed[:3]}")
    spans = read_traces(list(traces.values()))
    minutes, hops = summarise(window, spans, sizes.latency_slice_seconds)
    for m in minutes:
        bench.progress(
            f"latency slice {m['slice']}: 2xx->seen p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms; "
            f"send->seen p50 {m['p50_from_send_ms']} ms; {m['seen']}/{m['stored']} seen"
        )
    commands = int(sizes.latency_rate * sizes.latency_seconds)
    seen = sum(m["seen"] for m in minutes)
    lost = commands - seen
    slice_label = (
        "minute" if sizes.latency_slice_seconds == 60 else f"{sizes.latency_slice_seconds:g}s slice"
    )
    rate = f"{sizes.latency_rate:g}/s"
    tables = [
        detail_table(
            f"Command to another service's read model at {rate}, per {slice_label}",
            [
                slice_label,
                "commands",
                "seen",
                "2xx->seen p50",
                "p99",
                "max",
                "send->seen p50",
                "p99",
                "POST p50",
                "p99",
            ],
            [
                [
                    m["slice"],
                    m["stored"],
                    m["seen"],
                    m["p50_ms"],
                    m["p99_ms"],
                    m["max_ms"],
                    m["p50_from_send_ms"],
                    m["p99_from_send_ms"],
                    m["post_p50_ms"],
                    m["post_p99_ms"],
                ]
                for m in minutes
            ],
        ),
        _cpu_table(spent, elapsed, commands),
        detail_table(
            f"Per hop (ms, {sum(m['traced'] for m in minutes):,} traced commands; "
            f"p50 of the first and last {slice_label})",
            ["hop", "p50", "p90", "p99", "p50 first", "p50 last"],
            [
                [
                    h["hop"],
                    h["p50_ms"],
                    h["p90_ms"],
                    h["p99_ms"],
                    h["p50_per_slice_ms"][0] if h["p50_per_slice_ms"] else None,
                    h["p50_per_slice_ms"][-1] if h["p50_per_slice_ms"] else None,
                ]
                for h in hops
            ],
        ),
    ]
    settings = {
        "path": "intake POST /requests -> intake relay -> broker -> assignment routing "
        "reactor, whose append applies the case_board projection (inbox row) inline",
        "cpu_seconds": {name: round(v, 2) for name, v in spent.items()},
        "cpu_window_seconds": round(elapsed, 1),
        "rate_per_s": sizes.latency_rate,
        "seconds": sizes.latency_seconds,
        "slice_seconds": sizes.latency_slice_seconds,
        "warmup_seconds": WARMUP_SECONDS,
        "services": "intake and assignment as OS processes, log level info, JSON logs, "
        "hop traces on",
        "max_in_flight": MAX_IN_FLIGHT,
        "client": "benchmarks.stages.posting (HTTP/1.1 keep-alive, JSON bodies)",
        "retries_on_dropped_connection": RETRIES,
        "poll_interval_ms": POLL_SECONDS * 1000,
        "clock": "from the 2xx at the client to the poller's first sight (figures); from "
        "the scheduled send time (reference figures); value = the worst slice",
        "commands": commands,
        "seen": seen,
        "failed": len(window.failed),
        "unsent": window.unsent,
        "aborted": window.aborted,
        "first_failures": window.failed[:3],
        "minutes": minutes,
        "hops": hops,
        "tables": tables,
        "traces": command_traces(window, spans),
    }
    note = f"{lost} commands failed, unsent or never reached the inbox" if lost else ""
    if window.aborted:
        note += f"; rate not sustained: {window.aborted}"
    # The minutes, hops and tables go with the p99 figure; the others point to it.
    brief = {k: v for k, v in settings.items() if k not in ("minutes", "hops", "tables", "traces")}
    p50s = [m["p50_ms"] for m in minutes if m["p50_ms"] is not None]
    p99s = [m["p99_ms"] for m in minutes if m["p99_ms"] is not None]
    sent50 = [m["p50_from_send_ms"] for m in minutes if m["p50_from_send_ms"] is not None]
    sent99 = [m["p99_from_send_ms"] for m in minutes if m["p99_from_send_ms"] is not None]
    return [
        figure(
            "latency_p50",
            f"command 2xx to other service's read model, p50 at {rate} (worst {slice_label})",
            p50s,
            "ms",
            P50_TARGET,
            settings=brief,
            note=note,
            worst=True,
            met=bool(P50_TARGET.met(max(p50s))) and not lost,
        ),
        figure(
            "latency_p99",
            f"command 2xx to other service's read model, p99 at {rate} (worst {slice_label})",
            p99s,
            "ms",
            P99_TARGET,
            settings=settings,
            note=note,
            worst=True,
            met=bool(P99_TARGET.met(max(p99s))) and not lost,
        ),
        figure(
            "latency_from_send_p50",
            f"command sent to other service's read model, p50 at {rate} (worst {slice_label})",
            sent50,
            "ms",
            settings=brief,
            worst=True,
        ),
        figure(
            "latency_from_send_p99",
            f"command sent to other service's read model, p99 at {rate} (worst {slice_label})",
            sent99,
            "ms",
            settings=brief,
            worst=True,
        ),
    ]
