"""The broker alone: what one record costs to deliver as a partition holds more record batches.

No service and no database: a producer and a few readers at the tail of one partition,
with the consumer settings the services use. The partition is filled with record
batches of one record each (what the outbox relay writes at 100 commands/s: one small
batch per relay step) up to each level, and at each level one record is produced and
timed until every reader has it, ``runs x`` :data:`SAMPLES` times. With the broker's
process id (the embedded dev broker) its CPU time per delivered record is measured too.
The same number of records in batches of :data:`BIG_BATCH` shows whether the cost
follows the records or the batches.

Why: the latency stage's minutes get slower one after another on the dev broker while
the services' own costs stay flat. Tansu 0.6's in-memory storage keeps one object per
record batch and, for every fetch that returns data, lists every object of the
partition to find the offsets, so a fetch costs more with every batch stored (Apache
Kafka finds an offset through its index). Empty fetches (a reader at the end) skip that
listing, so idle readers cost the same at any size.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from benchmarks.cpu import cpu_seconds
from benchmarks.plan import Bench
from benchmarks.results import Figure, detail_table, figure
from benchmarks.stack import new_topic
from passend_backbone import kafka_io
from passend_backbone.kafka_settings import (
    client_security_settings,
    consumer_settings,
    producer_settings,
)

READERS = 3  # consumer groups reading one event topic in the latency stage (intake's)
SAMPLES = 40  # round trips per level and run
BIG_BATCH = 100
VALUE = b"x" * 600  # about one event
_IN_FLIGHT = 200
# A reader that hasn't reached a record this long after its ack fails the stage instead
# of waiting for ever (a run on a loaded machine once stalled here).
REACH_SECONDS = 60.0


async def _fill(producer: AIOKafkaProducer, topic: str, batches: int, per_batch: int) -> None:
    """Append ``batches`` record batches of ``per_batch`` records to partition 0."""
    pending: list[asyncio.Future[Any]] = []
    for _ in range(batches):
        batch = producer.create_batch()
        for _ in range(per_batch):
            batch.append(key=b"case", value=VALUE, timestamp=None)
        batch.close()
        pending.append(await producer.send_batch(batch, topic, partition=0))
        if len(pending) >= _IN_FLIGHT:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


async def _readers(bench: Bench, topic: str, offset: int) -> list[AIOKafkaConsumer]:
    settings = consumer_settings(bench.stack.kind)
    readers = []
    for _ in range(READERS):
        reader = AIOKafkaConsumer(
            bootstrap_servers=bench.stack.bootstrap,
            enable_auto_commit=False,
            isolation_level=settings["isolation_level"],
            fetch_max_wait_ms=settings["fetch_max_wait_ms"],
            **client_security_settings(),
        )
        await reader.start()
        tp = TopicPartition(topic, 0)
        reader.assign([tp])
        reader.seek(tp, offset)
        readers.append(reader)
    return readers


async def _round_trips(
    bench: Bench, producer: AIOKafkaProducer, topic: str, offset: int
) -> tuple[float, float | None, float | None, int]:
    """p50 ms of produce -> every reader has it; the broker's CPU ms per round trip above
    its idle rate; its idle CPU share while the readers wait at the end; the offset after."""
    readers = await _readers(bench, topic, offset)
    pid = bench.stack.broker.pid
    try:
        # The readers' first fetches (metadata, connections) are not what is measured.
        # Each wait is for the offset the broker gave the record, not a count of sends
        # (a produce retried under load may have stored a record twice).
        offset = await _produce(producer, topic)
        await asyncio.gather(*(_until(r, offset) for r in readers))
        idle = await _cpu_share(pid, lambda: asyncio.sleep(1.0))
        times: list[float] = []

        async def trips() -> None:
            nonlocal offset
            for _ in range(SAMPLES):
                started = time.perf_counter()
                offset = await _produce(producer, topic)
                await asyncio.gather(*(_until(r, offset) for r in readers))
                times.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)  # readers back to waiting at the end

        started = time.perf_counter()
        busy = await _cpu_share(pid, trips)
        seconds = time.perf_counter() - started
        per_trip = None
        if busy is not None and idle is not None:
            per_trip = max(busy - idle, 0.0) * seconds / SAMPLES * 1000
        return statistics.median(times), per_trip, idle, offset
    finally:
        for reader in readers:
            await reader.stop()


async def _cpu_share(pid: int | None, work: Any) -> float | None:
    """The broker's CPU seconds per second while ``work()`` runs (None without its pid)."""
    before = cpu_seconds(pid) if pid else None
    started = time.perf_counter()
    await work()
    after = cpu_seconds(pid) if pid else None
    if before is None or after is None:
        return None
    return (after - before) / (time.perf_counter() - started)


class Undelivered(RuntimeError):
    """A record the broker acknowledged did not reach a reader in time."""


async def _produce(producer: AIOKafkaProducer, topic: str) -> int:
    """One record to partition 0; the offset after it (what a reader must reach)."""
    sent = await producer.send_and_wait(topic, VALUE, key=b"case", partition=0)
    return int(sent.offset) + 1


async def _until(reader: AIOKafkaConsumer, offset: int) -> None:
    tp = TopicPartition(next(iter(reader.assignment())).topic, 0)
    deadline = time.monotonic() + REACH_SECONDS
    while (position := await reader.position(tp)) < offset:
        if time.monotonic() > deadline:
            raise Undelivered(
                f"a reader of {tp.topic} stayed at offset {position} for {REACH_SECONDS:g}s "
                f"after the broker acknowledged offset {offset - 1}"
            )
        await reader.getmany(tp, timeout_ms=1000)


async def run(bench: Bench) -> list[Figure]:
    """Round trip and broker CPU per delivered record at each fill level, and the same
    records in big batches."""
    levels = bench.sizes.broker_levels
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.stack.bootstrap,
        **{**producer_settings(bench.stack.kind), "linger_ms": 0},
        **client_security_settings(),
    )
    await producer.start()
    small: dict[int, list[tuple[float, float | None, float | None]]] = {}
    big: list[tuple[float, float | None, float | None]] = []
    # Levels at which a record did not reach the readers: a finding, not a crash; the
    # larger levels are not tried after one (they only cost the broker more).
    undelivered: dict[str, str] = {}
    try:
        topic = new_topic(f"broker-{uuid.uuid4().hex[:4]}")
        await kafka_io.ensure_topics(bench.stack.bootstrap, [topic], partitions=1)
        offset = 0  # one record per batch: the offset counts the partition's batches
        for level in levels:
            started = time.perf_counter()
            await _fill(producer, topic, max(level - offset, 0), 1)
            offset = max(level, offset)
            bench.progress(
                f"broker: {level:,} one-record batches in {time.perf_counter() - started:.1f}s"
            )
            small[level] = []
            try:
                for _ in range(bench.runs):
                    p50, cpu, idle, offset = await _round_trips(bench, producer, topic, offset)
                    small[level].append((p50, cpu, idle))
            except Undelivered as exc:
                undelivered[f"{level:,} one-record batches"] = str(exc)
                bench.progress(f"broker: {level:,} batches: not delivered: {exc}")
                break
            bench.progress(_said(f"{level:,} batches", small[level][-1]))
        # The largest level's records again, in big batches, on a topic of its own.
        records = levels[-1]
        topic = new_topic(f"broker-big-{uuid.uuid4().hex[:4]}")
        await kafka_io.ensure_topics(bench.stack.bootstrap, [topic], partitions=1)
        await _fill(producer, topic, records // BIG_BATCH, BIG_BATCH)
        offset = records // BIG_BATCH * BIG_BATCH
        try:
            for _ in range(bench.runs):
                p50, cpu, idle, offset = await _round_trips(bench, producer, topic, offset)
                big.append((p50, cpu, idle))
        except Undelivered as exc:
            undelivered[f"{records:,} records in {BIG_BATCH}-record batches"] = str(exc)
            bench.progress(f"broker: {records:,} records in big batches: not delivered: {exc}")
        if big:
            bench.progress(_said(f"{records:,} records in {BIG_BATCH}-record batches", big[-1]))
    finally:
        await producer.stop()
    settings = {
        "readers": READERS,
        "samples_per_run": SAMPLES,
        "partition": "one partition; record batches of one ~600-byte record, as the relay "
        "writes at 100 commands/s",
        "round_trip": "produce one record (acks=all) until every reader has fetched it",
        "consumer": consumer_settings(bench.stack.kind),
        "cpu": "the broker process's user+system CPU time (embedded dev broker only), per "
        "round trip above what it spends with the readers idle at the end",
        "reach_seconds": REACH_SECONDS,
        "undelivered": undelivered,
    }
    rows = []
    figures: list[Figure] = []
    for level, measured in small.items():
        if not measured:
            rows.append([f"{level:,} one-record batches", *_UNDELIVERED_ROW])
            continue
        p50s = [m[0] for m in measured]
        cpus = [m[1] for m in measured if m[1] is not None]
        idles = [m[2] for m in measured if m[2] is not None]
        figures.append(
            figure(
                f"broker_round_trip_{level}",
                f"broker: produce to {READERS} readers, p50 at {level:,} batches/partition",
                p50s,
                "ms",
                settings=settings,
            )
        )
        if cpus:
            figures.append(
                figure(
                    f"broker_cpu_{level}",
                    f"broker: CPU per record to {READERS} readers at {level:,} batches/partition",
                    cpus,
                    "ms",
                    settings=settings,
                )
            )
        rows.append(_row(f"{level:,} one-record batches", p50s, cpus, idles))
    label = f"{levels[-1]:,} records in {BIG_BATCH}-record batches"
    if big:
        rows.append(
            _row(
                label,
                [m[0] for m in big],
                [m[1] for m in big if m[1] is not None],
                [m[2] for m in big if m[2] is not None],
            )
        )
    else:
        rows.append([label, *_UNDELIVERED_ROW])
    if not figures:
        raise RuntimeError(f"the broker delivered at no level: {undelivered}")
    figures[-1].settings["tables"] = [
        detail_table(
            f"Broker alone: one partition, {READERS} readers at its end",
            [
                "partition holds",
                "round trip p50 ms",
                "broker CPU ms per record (above idle)",
                "broker idle CPU share",
            ],
            rows,
        )
    ]
    return figures


_UNDELIVERED_ROW = (f"not delivered in {REACH_SECONDS:g} s", None, None)


def _row(label: str, p50s: list[float], cpus: list[float], idles: list[float]) -> list[Any]:
    return [
        label,
        round(statistics.median(p50s), 2),
        round(statistics.median(cpus), 2) if cpus else None,
        f"{statistics.median(idles):.0%}" if idles else None,
    ]


def _said(label: str, measured: tuple[float, float | None, float | None]) -> str:
    p50, cpu, idle = measured
    text = f"broker: {label}: round trip p50 {p50:.1f} ms"
    if cpu is not None:
        text += f", broker CPU {cpu:.2f} ms per record"
    if idle is not None:
        text += f", idle {idle:.0%} of a core"
    return text
