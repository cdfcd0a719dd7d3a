"""The outbox relay publishes every event in order, waits for late commits, survives kill -9."""

from __future__ import annotations

import asyncio
import functools
import random
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord

from passend_backbone.db import create_pool, migrate
from passend_backbone.eventstore import (
    ConcurrencyError,
    EventStore,
    Metadata,
    NewEvent,
    PostgresEventStore,
)
from passend_backbone.eventstore.store import COLUMNS as STORE_COLUMNS
from passend_backbone.eventstore.store import event_from_row
from passend_backbone.kafka_io import ensure_topics, start_producer
from passend_backbone.relay import relay as outbox
from passend_backbone.relay.relay import OutboxRelay
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually

META = Metadata(swv="swv-2801", actor="user-7", correlation_id="corr-1", causation_id="cmd-1")
SOURCE = "/passend/test"
WORKER = Path(__file__).with_name("outbox_crash_worker.py")


def kind_of(broker: Broker) -> str:
    return "kafka" if broker.kind == "kafka" else "tansu"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url)
    await migrate(pool, ["passend_backbone.migrations"])
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def store(db: asyncpg.Pool) -> EventStore:
    return PostgresEventStore(db, SOURCE)


@pytest.fixture
async def topic(broker: Broker, topic_name: str) -> str:
    assert await ensure_topics(broker.bootstrap_servers, [topic_name]) == [topic_name]
    return topic_name


@pytest.fixture
async def producer(broker: Broker) -> AsyncIterator[AIOKafkaProducer]:
    p = await start_producer(broker.bootstrap_servers, kind_of(broker))  # type: ignore[arg-type]
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
def relay(
    db: asyncpg.Pool, store: EventStore, producer: AIOKafkaProducer, topic: str
) -> OutboxRelay:
    return OutboxRelay(db, store, producer, topic, source=SOURCE, batch_size=100)


class TopicReader:
    """Reads every partition of a topic from the beginning, without a consumer group."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.records: list[ConsumerRecord] = []

    async def until(self, done, what: str, timeout: float = 30.0) -> list[ConsumerRecord]:
        async def probe() -> bool:
            batch = await self.consumer.getmany(timeout_ms=200)
            for part in batch.values():
                self.records.extend(part)
            return bool(done(self.records))

        await eventually(probe, timeout=timeout, what=what)
        return self.records


@pytest.fixture
async def reader(broker: Broker, topic: str) -> AsyncIterator[TopicReader]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        yield TopicReader(consumer)
    finally:
        await consumer.stop()


def event_ids(records: list[ConsumerRecord]) -> list[UUID]:
    return [CloudEvent.from_kafka(r.headers, r.value).id for r in records]


def new(n: int) -> NewEvent:
    return NewEvent("nl.passend.test.Happened.v1", {"n": n})


async def test_ensure_topics_creates_once_with_the_contract_partitions(
    broker: Broker, topic: str, reader: TopicReader
) -> None:
    assert await ensure_topics(broker.bootstrap_servers, [topic]) == []
    assert len(reader.consumer.partitions_for_topic(topic) or ()) == topics.PARTITIONS


async def test_relay_publishes_in_order_as_cloudevents(
    store: EventStore, relay: OutboxRelay, reader: TopicReader
) -> None:
    stored = []
    for round_ in range(3):
        for case in ("case-a", "case-b", "case-c"):
            stored += await store.append(case, round_ * 2, [new(round_), new(round_)], META)
    assert await relay.run_once() == 18
    assert await relay.run_once() == 0
    assert await relay.checkpoint() == 18
    records = await reader.until(lambda rs: len(rs) >= 18, "18 records")
    assert sorted(event_ids(records)) == sorted(e.event_id for e in stored)
    by_position = {e.position: e for e in stored}
    per_partition: dict[int, list[int]] = defaultdict(list)
    partitions = list(range(topics.PARTITIONS))
    for record in records:
        # Where any Kafka client puts a record with this key (murmur2, as in Java).
        assert record.partition == DefaultPartitioner()(record.key, partitions, partitions)
        event = CloudEvent.from_kafka(record.headers, record.value)
        original = by_position[event.position]
        assert record.key == original.stream_id.encode()
        assert event == original.to_cloudevent(SOURCE)
        assert dict(record.headers)["ce_type"] == b"nl.passend.test.Happened.v1"
        per_partition[record.partition].append(event.position)
    for positions in per_partition.values():
        assert positions == sorted(positions)


async def test_published_records_are_byte_for_byte_the_contracts(
    db: asyncpg.Pool, store: EventStore, relay: OutboxRelay, reader: TopicReader
) -> None:
    payloads: list[dict[str, Any]] = [
        {"n": 1, "need_areas": ["lezen"], "nested": {"b": None, "a": True}},
        {"naam": "Zoë", "emoji": "\U0001f600"},  # escaped as json.dumps does
        {"ratio": 1.5, "tiny": 1e-05, "huge": 1e16},  # floats as Python writes them
    ]
    obo = Metadata(
        swv="swv-2801",
        actor="user-7",
        correlation_id="c",
        causation_id="d",
        on_behalf_of="parent-1",
    )
    await store.append(
        "case-a", 0, [NewEvent("nl.passend.test.Happened.v1", p) for p in payloads], META
    )
    await store.append("case-b", 0, [new(7)], obo)
    assert await relay.run_once() == 4
    records = await reader.until(lambda rs: len(rs) >= 4, "4 records")
    rows = await db.fetch(f"SELECT {STORE_COLUMNS} FROM events")
    expected = {
        row["event_id"]: event_from_row(row).to_cloudevent(SOURCE).to_kafka() for row in rows
    }
    for record in records:
        key, headers, value = expected[CloudEvent.from_kafka(record.headers, record.value).id]
        assert (record.key, list(record.headers), record.value) == (key, headers, value)


async def test_a_step_reads_in_chunks_up_to_its_batch_and_stops_at_a_gap(
    db: asyncpg.Pool,
    store: EventStore,
    producer: AIOKafkaProducer,
    topic: str,
    reader: TopicReader,
) -> None:
    relay = OutboxRelay(db, store, producer, topic, source=SOURCE, batch_size=40, fetch_size=10)
    stored = await store.append("case-a", 0, [new(i) for i in range(25)], META)  # 1-25
    async with db.acquire() as conn:
        txn = conn.transaction()
        await txn.start()
        stored += await store.append("case-b", 0, [new(0)], META, conn=conn)  # 26, open
        stored += await store.append("case-c", 0, [new(i) for i in range(60)], META)  # 27-86
        # Chunks 1-10, 11-20, 21-25: the third stops before the open position.
        assert await relay.run_once() == 25
        assert await relay.checkpoint() == 25
        await txn.commit()
    assert await relay.run_once() == 40  # four chunks: a step's batch is full
    assert await relay.run_once() == 21
    assert await relay.run_once() == 0
    records = await reader.until(lambda rs: len(rs) >= 86, "86 records")
    assert sorted(event_ids(records)) == sorted(e.event_id for e in stored)
    by_case: dict[str, list[int]] = defaultdict(list)
    for record in records:
        event = CloudEvent.from_kafka(record.headers, record.value)
        by_case[event.subject].append(event.streamversion)
    assert by_case == {
        "case-a": list(range(1, 26)),
        "case-b": [1],
        "case-c": list(range(1, 61)),
    }


async def test_an_append_in_this_process_wakes_the_relay(
    db: asyncpg.Pool,
    store: EventStore,
    producer: AIOKafkaProducer,
    topic: str,
    reader: TopicReader,
) -> None:
    # A poll interval far longer than the wait below: only the wake-up can publish in time.
    relay = OutboxRelay(db, store, producer, topic, source=SOURCE, poll_interval=120)
    [before] = await store.append("case-a", 0, [new(0)], META)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await reader.until(lambda rs: len(rs) >= 1, "the first pass")  # now it sleeps
        [woke] = await store.append("case-a", 1, [new(1)], META)
        await reader.until(lambda rs: len(rs) >= 2, "the appended event", timeout=20)
        # Here the wake comes before the commit: the relay keeps looking until it sees it.
        async with db.acquire() as conn, conn.transaction():
            [late] = await store.append("case-b", 0, [new(2)], META, conn=conn)
            # Fault injection, not synchronisation: a commit later than several quick polls.
            await asyncio.sleep(0.3)
        records = await reader.until(lambda rs: len(rs) >= 3, "the late commit", timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert event_ids(records) == [before.event_id, woke.event_id, late.event_id]


async def test_relay_waits_for_a_transaction_that_commits_late(
    db: asyncpg.Pool, store: EventStore, relay: OutboxRelay, reader: TopicReader
) -> None:
    async with db.acquire() as conn_a:
        txn_a = conn_a.transaction()
        await txn_a.start()
        [late] = await store.append("case-a", 0, [new(1)], META, conn=conn_a)
        [early] = await store.append("case-b", 0, [new(2)], META)
        assert (late.position, early.position) == (1, 2)
        # Position 2 is committed, 1 is not: publishing 2 and moving on would lose 1.
        assert await relay.run_once() == 0
        assert await relay.run_once() == 0
        assert await relay.checkpoint() == 0
        await txn_a.commit()
    assert await relay.run_once() == 2
    assert await relay.checkpoint() == 2
    records = await reader.until(lambda rs: len(rs) >= 2, "both events")
    assert sorted(event_ids(records)) == sorted([late.event_id, early.event_id])


async def test_relay_skips_a_rolled_back_gap(
    db: asyncpg.Pool, store: EventStore, relay: OutboxRelay, reader: TopicReader
) -> None:
    async with db.acquire() as conn_a:
        txn_a = conn_a.transaction()
        await txn_a.start()
        await store.append("case-a", 0, [new(1), new(2)], META, conn=conn_a)
        [kept] = await store.append("case-b", 0, [new(3)], META)
        assert await relay.run_once() == 0
        await txn_a.rollback()
    assert await eventually(relay.run_once, what="the relay to skip positions 1-2") == 1
    assert await relay.checkpoint() == 3
    records = await reader.until(lambda rs: len(rs) >= 1, "the kept event")
    assert event_ids(records) == [kept.event_id]


async def test_two_relays_on_one_store_publish_each_event_once(
    db: asyncpg.Pool,
    store: EventStore,
    producer: AIOKafkaProducer,
    topic: str,
    reader: TopicReader,
) -> None:
    stored = await store.append("case-a", 0, [new(i) for i in range(50)], META)
    relays = [OutboxRelay(db, store, producer, topic, source=SOURCE) for _ in range(2)]
    counts = await asyncio.gather(*(r.run_once() for r in relays))
    counts += await asyncio.gather(*(r.run_once() for r in relays))
    assert sum(counts) == 50
    records = await reader.until(lambda rs: len(rs) >= 50, "50 records")
    assert event_ids(records) == [e.event_id for e in stored]


class FailingOnce:
    """A producer whose first batch fails, as when the broker is briefly unreachable."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.failed = False

    async def partitions_for(self, topic: str) -> set[int]:
        partitions: set[int] = await self.producer.partitions_for(topic)
        return partitions

    def create_batch(self) -> object:
        return self.producer.create_batch()

    async def send_batch(self, batch: object, topic: str, *, partition: int) -> object:
        if not self.failed:
            self.failed = True
            raise KafkaConnectionError("broker unreachable")
        return await self.producer.send_batch(batch, topic, partition=partition)


async def test_run_loop_retries_a_failed_batch_without_losing_events(
    db: asyncpg.Pool,
    store: EventStore,
    producer: AIOKafkaProducer,
    topic: str,
    reader: TopicReader,
) -> None:
    flaky = FailingOnce(producer)
    relay = OutboxRelay(db, store, flaky, topic, source=SOURCE)
    stored = await store.append("case-a", 0, [new(i) for i in range(3)], META)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        records = await reader.until(lambda rs: len(rs) >= 3, "3 records after a retry")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert flaky.failed
    assert event_ids(records) == [e.event_id for e in stored]
    assert await relay.checkpoint() == 3


async def test_run_loop_relays_and_reset_republishes(
    store: EventStore, relay: OutboxRelay, reader: TopicReader
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        stored = await store.append("case-a", 0, [new(i) for i in range(5)], META)
        await reader.until(lambda rs: len(rs) >= 5, "5 records")
        await relay.reset(0)
        records = await reader.until(lambda rs: len(rs) >= 10, "5 records twice")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    ids = [e.event_id for e in stored]
    assert event_ids(records) == ids + ids


async def test_relay_killed_at_random_points_loses_nothing_and_keeps_case_order(
    broker: Broker,
    db_url: str,
    db: asyncpg.Pool,
    store: EventStore,
    topic: str,
    reader: TopicReader,
) -> None:
    rng = random.Random(7)
    cases = [f"case-{i}" for i in range(12)]
    writing = True

    async def writer(seed: int) -> None:
        # Writers share cases, so some appends lose races (their positions become gaps),
        # and some hold their transaction open a while, so later positions commit first.
        local = random.Random(seed)
        while writing:
            case = local.choice(cases)
            batch = [new(local.randrange(1000)) for _ in range(local.randint(1, 3))]
            async with db.acquire() as conn:
                try:
                    async with conn.transaction():
                        version = await store.stream_version(case, conn=conn)
                        await store.append(case, version, batch, META, conn=conn)
                        await asyncio.sleep(local.choice([0, 0, 0.002, 0.02, 0.1]))
                except ConcurrencyError:
                    pass

    async def spawn() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            db_url,
            broker.bootstrap_servers,
            kind_of(broker),
            topic,
            "50",
            stdout=asyncio.subprocess.DEVNULL,
        )

    async def checkpoint() -> int:
        value = await db.fetchval("SELECT position FROM outbox_checkpoint WHERE topic = $1", topic)
        return int(value or 0)

    writers = [asyncio.create_task(writer(seed)) for seed in range(4)]
    try:
        for _ in range(4):
            before = await checkpoint()
            proc = await spawn()
            await eventually(
                functools.partial(_above, checkpoint, before),
                timeout=60,
                what="the relay to make progress",
            )
            # Fault injection, not synchronisation: kill at a random point of its work.
            await asyncio.sleep(rng.uniform(0, 0.2))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    finally:
        writing = False
        await asyncio.gather(*writers)

    last = int(await db.fetchval("SELECT max(position) FROM events"))
    proc = await spawn()
    try:
        await eventually(
            functools.partial(_above, checkpoint, last - 1), timeout=60, what="relay catch-up"
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    rows = await db.fetch("SELECT event_id, stream_id, stream_version FROM events")
    expected = {r["event_id"]: (r["stream_id"], r["stream_version"]) for r in rows}
    assert len(expected) > 100
    records = await reader.until(
        lambda rs: expected.keys() <= set(event_ids(rs)), "every stored event on the topic", 60
    )
    seen: set[UUID] = set()
    first_versions: dict[str, list[int]] = defaultdict(list)
    for record in records:
        event = CloudEvent.from_kafka(record.headers, record.value)
        if event.id not in seen:
            seen.add(event.id)
            first_versions[event.subject].append(event.streamversion)
    for case, versions in first_versions.items():
        assert versions == sorted(versions), case
        assert versions == list(range(1, len(versions) + 1)), case


async def _above(probe, value: int) -> bool:
    return int(await probe()) > value


async def test_the_idle_probe_reads_the_primary_key_not_the_table(
    db: asyncpg.Pool, store: EventStore
) -> None:
    """Its generic plan (the one a prepared statement keeps) must not scan ``events``: a
    scan stopping at the first new row still reads every row before it, each poll."""
    for i in range(200):
        await store.append(f"case-{i}", 0, [new(i)], META)
    await db.execute("ANALYZE events")
    async with db.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE news(bigint, text) AS {outbox._NEWS}")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN EXECUTE news(0, 't')"))
        await conn.execute("DEALLOCATE news")
    assert "Seq Scan on events" not in plan, plan
    assert "events_pkey" in plan, plan
