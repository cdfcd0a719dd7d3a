"""One seeded store, relayed to the broker, projected, rebuilt and verified.

The store holds ``pipeline_events`` ``RequestRouted`` events in case streams of
``pipeline_case_size`` events. Each run relays it to a topic of its own, runs the
assignment service's real case-board projection over that topic with the real consumer
runner, rebuilds that projection from offset zero, and verifies the hash chains.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence

import asyncpg

from benchmarks.payloads import META, case_batches
from benchmarks.plan import Bench
from benchmarks.results import Figure, Target, figure
from benchmarks.stack import new_topic
from passend_assignment.projections import CaseBoard
from passend_backbone import kafka_io
from passend_backbone.audit import verify_chains
from passend_backbone.consumer import Consumers, rebuild
from passend_backbone.consumer.deliveries import Delivery, RawEvent
from passend_backbone.consumer.kinds import BatchProjection, Projection, RawBatchProjection
from passend_backbone.eventstore import EventStore, NewEvent, PostgresEventStore, verify
from passend_backbone.kafka_settings import consumer_settings, producer_settings
from passend_backbone.opscli import default_workers
from passend_backbone.relay.relay import OutboxRelay
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload

RELAY_TARGET = Target(">=", 20_000, ">= 20,000")
PROJECTION_TARGET = Target(">=", 5_000, ">= 5,000")
REBUILD_TARGET = Target(">=", 50_000, ">= 50,000")
VERIFY_TARGET = Target(">=", 200_000, ">= 200,000")
SOURCE = "/passend/bench"
# How often the benchmark looks at the projection's consumed offsets (not a sync point:
# it only bounds how precisely the end of the run is seen).
_POLL_SECONDS = 0.02
_SEED_WRITERS = 4
# Processes of the rebuild: one per core, as `passend-<svc> rebuild` runs by default.
REBUILD_WORKERS = default_workers()


class RenamedProjection:
    """A service's projection under another name, reading other topics (one per run)."""

    def __init__(self, inner: Projection, name: str, topics: tuple[str, ...]) -> None:
        self.inner = inner
        self.name = name
        self.topics = topics

    async def setup(self, conn: asyncpg.Connection) -> None:
        await self.inner.setup(conn)

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        await self.inner.handle(conn, event, payload)

    async def handle_batch(self, conn: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        # The runner takes the batch path exactly when the service's projection offers it.
        if isinstance(self.inner, BatchProjection):
            await self.inner.handle_batch(conn, deliveries)
        else:
            for delivery in deliveries:
                await self.inner.handle(conn, delivery.event, delivery.payload)

    @property
    def raw_types(self) -> frozenset[str]:
        # The rebuild takes events raw exactly when the service's projection can.
        return self.inner.raw_types if isinstance(self.inner, RawBatchProjection) else frozenset()

    async def handle_raw_batch(
        self, conn: asyncpg.Connection, events: Sequence[RawEvent | Delivery]
    ) -> None:
        if isinstance(self.inner, RawBatchProjection):
            await self.inner.handle_raw_batch(conn, events)
        else:  # raw_types is empty: every event comes parsed
            await self.handle_batch(conn, [e for e in events if isinstance(e, Delivery)])


async def _seed(bench: Bench, store: EventStore) -> int:
    sizes = bench.sizes
    batches = case_batches(sizes.pipeline_events, sizes.pipeline_case_size)

    async def writer(share: list[tuple[str, list[NewEvent]]]) -> None:
        for stream_id, events in share:
            await store.append(stream_id, 0, events, META)

    # Several writers: filling is not what is measured here, so it may as well be quick.
    await asyncio.gather(*(writer(batches[i::_SEED_WRITERS]) for i in range(_SEED_WRITERS)))
    return sizes.pipeline_events


async def _relay(
    bench: Bench, run: int, pool: asyncpg.Pool, store: EventStore, topic: str
) -> float:
    """Seconds to publish the whole store to ``topic`` (checkpoint at the last position)."""
    await kafka_io.ensure_topics(bench.stack.bootstrap, [topic])
    producer = await kafka_io.start_producer(bench.stack.bootstrap, bench.stack.kind)
    try:
        relay = OutboxRelay(pool, store, producer, topic, source=SOURCE)
        last = await pool.fetchval("SELECT max(position) FROM events")
        await producer.partitions_for(topic)  # metadata first: not part of relaying
        with bench.profiled(f"relay-{run}"):
            started = time.perf_counter()
            while await relay.run_once() > 0:
                pass
            seconds = time.perf_counter() - started
        checkpoint = await relay.checkpoint()
        if checkpoint != last:
            raise RuntimeError(f"relay stopped at position {checkpoint}, the store ends at {last}")
        return seconds
    finally:
        await producer.stop()


async def _consumed(pool: asyncpg.Pool, schema: str) -> int:
    value = await pool.fetchval(f"SELECT coalesce(sum(next_offset), 0) FROM {schema}.consumed")
    return int(value)


async def _project(
    bench: Bench, pool: asyncpg.Pool, projection: RenamedProjection, total: int
) -> float:
    """Events/s of the live consumer, from its first applied batch to the last record."""
    runner = Consumers(
        service="bench",
        pool=pool,
        bootstrap=bench.stack.bootstrap,
        kind=bench.stack.kind,
        projections=[projection],
    )
    schema = f"rm_{projection.name}_1"
    await runner.start()
    try:
        first_seen = 0
        first_at = 0.0
        deadline = time.monotonic() + 600
        while True:
            done = await _consumed(pool, schema)
            now = time.perf_counter()
            if done and not first_seen:
                # Steady state starts once the group has joined and a batch committed.
                first_seen, first_at = done, now
            if done >= total:
                break
            if runner.failed is not None:
                raise RuntimeError(f"the consumer failed: {runner.failed!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"projection applied {done} of {total} events in 10 minutes")
            await asyncio.sleep(_POLL_SECONDS)
        if now - first_at <= 0 or done == first_seen:
            # Everything came in the first batch (tiny runs): count it from the start.
            return total / max(now - first_at, _POLL_SECONDS)
        return (done - first_seen) / (now - first_at)
    finally:
        await runner.stop()


async def run(bench: Bench, wanted: Collection[str]) -> list[Figure]:
    """The figures of ``wanted`` (relay, projection, rebuild, verify)."""
    sizes = bench.sizes
    # Assignment's own database: its case board projection needs the service's migrations.
    url, pool = await bench.stack.new_store(
        "pipeline", max_size=10, service_migrations="passend_assignment.migrations"
    )
    relay_rates: list[float] = []
    projection_rates: list[float] = []
    rebuild_rates: list[float] = []
    rebuild_workers: list[int] = []  # processes that read the bulk, per run
    verify_rates: list[float] = []
    store_verify_rates: list[float] = []
    try:
        store = PostgresEventStore(pool, SOURCE)
        bench.progress(f"pipeline: storing {sizes.pipeline_events:,} events")
        started = time.perf_counter()
        total = await _seed(bench, store)
        await pool.execute("VACUUM ANALYZE events")
        bench.progress(f"pipeline: stored in {time.perf_counter() - started:.0f}s")
        needs_topic = {"relay", "projection", "rebuild"} & set(wanted)
        for run in range(bench.runs):
            said = [f"pipeline run {run + 1}/{bench.runs}:"]
            if needs_topic:
                topic = new_topic("pipeline")
                seconds = await _relay(bench, run, pool, store, topic)
                relay_rates.append(total / seconds)
                said.append(f"relay {relay_rates[-1]:,.0f} ev/s")
                projection = RenamedProjection(CaseBoard(), f"bench_board_{run}", (topic,))
                if {"projection", "rebuild"} & set(wanted):
                    with bench.profiled(f"projection-{run}"):
                        rate = await _project(bench, pool, projection, total)
                    projection_rates.append(rate)
                    said.append(f"projection {projection_rates[-1]:,.0f} ev/s")
                if "rebuild" in wanted:
                    with bench.profiled(f"rebuild-{run}"):
                        report = await rebuild(
                            service="bench",
                            projection=projection,
                            pool=pool,
                            bootstrap=bench.stack.bootstrap,
                            kind=bench.stack.kind,
                            workers=REBUILD_WORKERS,
                            database_url=url,
                        )
                    if report.records < total:
                        raise RuntimeError(f"rebuild read {report.records} of {total} events")
                    rebuild_rates.append(report.records / report.seconds)
                    rebuild_workers.append(report.workers)
                    said.append(
                        f"rebuild {rebuild_rates[-1]:,.0f} ev/s ({report.workers} process(es))"
                    )
            if "verify" in wanted:
                with bench.profiled(f"verify-{run}"):
                    started = time.perf_counter()
                    chains = await verify_chains(pool, "bench")
                    seconds = time.perf_counter() - started
                if not chains.ok or chains.events_checked != total:
                    raise RuntimeError(f"verification failed or incomplete: {chains}")
                verify_rates.append(chains.events_checked / seconds)
                started = time.perf_counter()
                result = await verify(pool)
                seconds = time.perf_counter() - started
                if not result.ok or result.events_checked != total:
                    raise RuntimeError(f"verification failed or incomplete: {result}")
                store_verify_rates.append(result.events_checked / seconds)
                said.append(
                    f"verify {verify_rates[-1]:,.0f} ev/s "
                    f"(EventStore.verify {store_verify_rates[-1]:,.0f} ev/s)"
                )
            bench.progress(" ".join(said))
    finally:
        await pool.close()
        await bench.stack.drop_database(url)
    store_settings = {
        "events": total,
        "events_per_case": sizes.pipeline_case_size,
        "event": "RequestRouted (assignment), about 600 bytes of JSON",
    }
    figures: list[Figure] = []
    if "relay" in wanted:
        figures.append(
            figure(
                "relay",
                "outbox relay, store to broker",
                relay_rates,
                "ev/s",
                RELAY_TARGET,
                settings={
                    **store_settings,
                    "partitions": topics.PARTITIONS,
                    "batch_size": 1000,
                    "producer": producer_settings(bench.stack.kind),
                    "measured": "run_once until the checkpoint is the store's last position",
                },
            )
        )
    consumer = {
        "projection": "assignment case_board (a batch folded per case, one upsert per row)",
        "partitions": topics.PARTITIONS,
        "consumer": consumer_settings(bench.stack.kind),
    }
    if "projection" in wanted:
        figures.append(
            figure(
                "projection",
                "projection, steady state",
                projection_rates,
                "ev/s",
                PROJECTION_TARGET,
                settings={
                    **store_settings,
                    **consumer,
                    "measured": "first committed batch to the last offset recorded in the "
                    "read model's consumed table (group join excluded)",
                },
            )
        )
    if "rebuild" in wanted:
        figures.append(
            figure(
                "rebuild",
                "projection rebuild from offset zero",
                rebuild_rates,
                "ev/s",
                REBUILD_TARGET,
                settings={
                    **store_settings,
                    **consumer,
                    "max_records": 5000,
                    "workers": REBUILD_WORKERS,
                    "workers_per_run": rebuild_workers,
                    "path": "forked workers over the partitions; events of a shape the "
                    "contract validated once taken as JSON; handled marks by COPY",
                    "measured": "RebuildReport.records / seconds (prepare, workers started, "
                    "bulk, catch-up, swap)",
                },
            )
        )
    if "verify" in wanted:
        figures.append(
            figure(
                "verify",
                "integrity verification (hash chains)",
                verify_rates,
                "ev/s",
                VERIFY_TARGET,
                settings={
                    **store_settings,
                    "measured": "passend_backbone.audit.verify_chains (GET /audit/verify)",
                },
            )
        )
        figures.append(
            figure(
                "verify_eventstore",
                "integrity verification, EventStore.verify",
                store_verify_rates,
                "ev/s",
                settings={**store_settings, "measured": "passend_backbone.eventstore.verify"},
            )
        )
    return figures
