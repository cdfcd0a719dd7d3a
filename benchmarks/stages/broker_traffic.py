"""The broker alone under the latency window's traffic, for each way the services could ask.

The latency stage's minutes get slower one after another, and the ``broker`` stage shows
why: the dev broker's cost per fetch grows with the record batches stored in a partition.
What the system can change is what it asks of the broker (partitions, which readers,
their fetch wait). This stage asks whether any such pattern keeps the broker's share of
the machine flat through the window, with no service and no database in the way.

For each **pattern** and each **minute** of the latency window (1, 5 and 10 by default):

- three topics with the pattern's partitions: ``intake`` and ``assignment`` (each already
  holding what the window has written by the start of that minute: one one-record batch
  per command, :data:`PER_COMMAND`), and an idle one (``trajectory``), as in the stage;
- the services' readers, as the fetch loops read them: one quick reader per service for
  the other's topic and the idle one, and, when the pattern has them, a lazy reader per
  service for its own topic (``kafka_settings.lazy_fetch``); each commits after every
  fetched batch;
- the commands' records for ``seconds``: one one-record batch to each of the two topics
  per command, at the window's rate, spread over the partitions.

Measured: the broker process's CPU (embedded dev broker only) in cores, and the time from
a record's send to the quick reader of ``intake`` having it (p50, p99). One run per cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from benchmarks.cpu import cpu_seconds
from benchmarks.plan import Bench, Sizes
from benchmarks.results import Figure, detail_table, figure
from benchmarks.stack import new_topic
from passend_backbone import kafka_io
from passend_backbone.kafka_settings import (
    client_security_settings,
    consumer_settings,
    lazy_fetch,
    producer_settings,
)

PER_COMMAND = 1  # one-record batches per command on each busy topic (the relay's step)
VALUE = b"x" * 600  # about one event
MINUTES = (1, 5, 10)
_IN_FLIGHT = 400
JOIN_SECONDS = 60.0


@dataclass(frozen=True)
class Pattern:
    """One way of asking the broker: partitions per topic, lazy own-topic readers, wait."""

    key: str
    title: str
    partitions: int
    own_readers: bool
    fetch_wait_ms: int


PATTERNS = (
    Pattern("p4", "4 partitions, own topics read lazily (this tree)", 4, True, 20),
    Pattern("p4_no_own", "4 partitions, own topics not read", 4, False, 20),
    Pattern("p32", "32 partitions, own topics read lazily", 32, True, 20),
    Pattern("p32_no_own", "32 partitions, own topics not read", 32, False, 20),
    Pattern("p32_no_own_40", "32 partitions, own topics not read, 40 ms fetch wait", 32, False, 40),
)


@dataclass
class Cell:
    """What one pattern measured at one minute's fill."""

    pattern: Pattern
    minute: int
    stored: int  # record batches per busy topic before the window
    cores: float | None
    sent: int
    read: int
    p50_ms: float | None
    p99_ms: float | None


async def _fill(producer: AIOKafkaProducer, topic: str, batches: int, partitions: int) -> None:
    pending: list[asyncio.Future[Any]] = []
    for i in range(batches):
        batch = producer.create_batch()
        batch.append(key=None, value=VALUE, timestamp=None)
        batch.close()
        pending.append(await producer.send_batch(batch, topic, partition=i % partitions))
        if len(pending) >= _IN_FLIGHT:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


class Reader:
    """A consumer group that reads like a fetch loop: fetch, commit, again."""

    def __init__(self, bench: Bench, topics: list[str], fetch: dict[str, Any]) -> None:
        settings = {**consumer_settings(bench.stack.kind), **fetch, "auto_offset_reset": "latest"}
        self.consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bench.stack.bootstrap,
            group_id=f"traffic-{uuid.uuid4().hex[:8]}",
            **settings,
            **client_security_settings(),
        )
        self.read_at: dict[int, float] = {}  # record sequence -> when it was read
        self.watched: str | None = None  # the topic whose records are timed
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self.stopping.is_set():
            got = await self.consumer.getmany(timeout_ms=200, max_records=500)
            now = time.perf_counter()
            for tp, records in got.items():
                if tp.topic == self.watched:
                    for record in records:
                        (sequence,) = struct.unpack_from(">q", record.value)
                        self.read_at.setdefault(sequence, now)
            if got:
                # An overloaded broker may drop the connection: the next batch commits.
                with contextlib.suppress(KafkaError):
                    await self.consumer.commit()

    def joined(self) -> bool:
        return bool(self.consumer.assignment())

    async def stop(self) -> None:
        """After the fetch and commit under way (the broker may take a while to answer)."""
        self.stopping.set()
        try:
            if self.task is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.task), JOIN_SECONDS)
        finally:
            if self.task is not None and not self.task.done():
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
            await self.consumer.stop()


async def _until(ready: Callable[[], bool], what: str, *, strict: bool = True) -> None:
    """Until ``ready()``, for at most :data:`JOIN_SECONDS` (then an error, if ``strict``)."""
    deadline = time.monotonic() + JOIN_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            if strict:
                raise RuntimeError(f"{what} not ready in {JOIN_SECONDS:g}s")
            return
        await asyncio.sleep(0.05)


async def _cell(bench: Bench, producer: AIOKafkaProducer, pattern: Pattern, minute: int) -> Cell:
    sizes = bench.sizes
    stored = round(sizes.latency_rate * sizes.latency_slice_seconds * (minute - 1)) * PER_COMMAND
    intake, assignment, idle = (
        new_topic(f"traffic-{name}-{pattern.key}-{minute}")
        for name in ("intake", "assignment", "trajectory")
    )
    await kafka_io.ensure_topics(
        bench.stack.bootstrap, [intake, assignment, idle], partitions=pattern.partitions
    )
    await _fill(producer, intake, stored, pattern.partitions)
    await _fill(producer, assignment, stored, pattern.partitions)
    quick = {"fetch_max_wait_ms": pattern.fetch_wait_ms}
    readers = [
        Reader(bench, [intake, idle], quick),  # assignment's live loop
        Reader(bench, [assignment, idle], quick),  # intake's live loop
    ]
    if pattern.own_readers:
        readers += [
            Reader(bench, [intake], lazy_fetch()),
            Reader(bench, [assignment], lazy_fetch()),
        ]
    readers[0].watched = intake
    sent_at: dict[int, float] = {}
    try:
        for reader in readers:
            await reader.start()
        for reader in readers:
            await _until(reader.joined, "a reader's group")
        await asyncio.sleep(1.0)  # every reader at the end, fetching
        pid = bench.stack.broker.pid
        before = cpu_seconds(pid) if pid else None
        started = time.perf_counter()
        await _traffic(producer, (intake, assignment), pattern.partitions, sizes, sent_at)
        seconds = time.perf_counter() - started
        after = cpu_seconds(pid) if pid else None
        # The last records' fetch; a reader that can't keep up shows as "read < sent".
        await _until(lambda: len(readers[0].read_at) >= len(sent_at), "reading", strict=False)
    finally:
        for reader in readers:
            await reader.stop()
    delays = sorted(
        (readers[0].read_at[s] - t) * 1000 for s, t in sent_at.items() if s in readers[0].read_at
    )
    return Cell(
        pattern=pattern,
        minute=minute,
        stored=stored,
        cores=None if before is None or after is None else (after - before) / seconds,
        sent=len(sent_at),
        read=len(delays),
        p50_ms=statistics.median(delays) if delays else None,
        p99_ms=delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else None,
    )


async def _traffic(
    producer: AIOKafkaProducer,
    topics: tuple[str, str],
    partitions: int,
    sizes: Sizes,
    sent_at: dict[int, float],
) -> None:
    """One one-record batch per command to each topic, on a fixed schedule (open loop)."""
    acks: list[Awaitable[Any]] = []
    rate = sizes.latency_rate
    start = time.perf_counter()
    commands = int(rate * sizes.traffic_seconds)
    for n in range(commands):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        sent_at[n] = time.perf_counter()
        value = struct.pack(">q", n) + VALUE
        for topic in topics:
            acks.append(await producer.send(topic, value, partition=n % partitions))
        if len(acks) >= _IN_FLIGHT:
            await asyncio.gather(*acks)
            acks = []
    await asyncio.gather(*acks)


async def run(bench: Bench) -> list[Figure]:
    """Each pattern at each minute's fill; the broker's cores and the quick reader's delay."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.stack.bootstrap,
        **{**producer_settings(bench.stack.kind), "linger_ms": 0},
        **client_security_settings(),
    )
    await producer.start()
    cells: list[Cell] = []
    try:
        for pattern in PATTERNS:
            for minute in bench.sizes.traffic_minutes:
                cell = await _cell(bench, producer, pattern, minute)
                cells.append(cell)
                bench.progress(_said(cell))
    finally:
        await producer.stop()
    last = bench.sizes.traffic_minutes[-1]
    settings = {
        "rate_per_s": bench.sizes.latency_rate,
        "seconds_per_cell": bench.sizes.traffic_seconds,
        "minute_seconds": bench.sizes.latency_slice_seconds,
        "batches_per_command_per_topic": PER_COMMAND,
        "readers": "per service a quick reader of the other's topic and the idle one; "
        "lazy readers of the own topics when the pattern has them; commit per batch",
        "lazy_fetch": lazy_fetch(),
        "quick_consumer": consumer_settings(bench.stack.kind),
        "cpu": "the broker process's user+system CPU time over the window (embedded only)",
        "delay": "send of a record to intake's topic until its quick reader has it",
        "tables": [
            detail_table(
                "Broker alone under the latency window's traffic, per pattern",
                [
                    "pattern",
                    "minute",
                    "batches stored per topic",
                    "broker cores",
                    "read / sent",
                    "send->read p50 ms",
                    "p99 ms",
                ],
                [_row(c) for c in cells],
            )
        ],
    }
    figures = []
    for pattern in PATTERNS:
        (cell,) = [c for c in cells if c.pattern == pattern and c.minute == last]
        cores = [cell.cores] if cell.cores is not None else []
        figures.append(
            figure(
                f"traffic_cores_{pattern.key}",
                f"broker cores at minute {last}'s fill: {pattern.title}",
                cores,
                "cores",
                settings=settings,
            )
        )
    return figures


def _row(cell: Cell) -> list[Any]:
    return [
        cell.pattern.title,
        cell.minute,
        cell.stored,
        None if cell.cores is None else round(cell.cores, 2),
        f"{cell.read:,} / {cell.sent:,}",
        None if cell.p50_ms is None else round(cell.p50_ms, 1),
        None if cell.p99_ms is None else round(cell.p99_ms, 1),
    ]


def _said(cell: Cell) -> str:
    cores = "-" if cell.cores is None else f"{cell.cores:.2f}"
    p50 = "-" if cell.p50_ms is None else f"{cell.p50_ms:.1f}"
    p99 = "-" if cell.p99_ms is None else f"{cell.p99_ms:.1f}"
    return (
        f"traffic: {cell.pattern.title}, minute {cell.minute} ({cell.stored:,} batches stored): "
        f"broker {cores} cores, send->read p50 {p50} ms, p99 {p99} ms, "
        f"{cell.read:,}/{cell.sent:,} read"
    )
