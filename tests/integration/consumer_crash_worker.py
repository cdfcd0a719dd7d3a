"""Test support for the consumer tests: a counting projection, helpers, a crash-test worker.

Run as ``python -m tests.integration.consumer_crash_worker DB_URL BOOTSTRAP KIND TOPIC SERVICE``:
it runs a :class:`Consumers` with :class:`CountingProjection` until SIGTERM (or
until it is killed, which is the point).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from passend_backbone.consumer.deliveries import Delivery
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import create_pool, migrate
from passend_backbone.kafka_io import ensure_topics
from passend_backbone.kafka_settings import producer_settings
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentRequested

POISON = "poison"


class Poisoned(RuntimeError):
    """The test's stand-in for a handler bug."""


class CountingProjection:
    """Counts ConsentRequested events per case; raises for ``requested_by == POISON``."""

    def __init__(self, topic: str, name: str = "case_counts") -> None:
        self.name = name
        self.topics: tuple[str, ...] = (topic,)
        self.handle_calls: dict[str, int] = {}
        self.gate: asyncio.Event | None = None  # when set by a test, handle waits for it
        self.gate_after = 0  # ... once this many events went through
        self.gate_reached = asyncio.Event()

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "CREATE TABLE counts (case_id text PRIMARY KEY, n int NOT NULL, last_event uuid)"
        )

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        key = str(event.id)
        self.handle_calls[key] = self.handle_calls.get(key, 0) + 1
        if self.gate is not None and sum(self.handle_calls.values()) > self.gate_after:
            self.gate_reached.set()
            await self.gate.wait()
        if not isinstance(payload, ConsentRequested):
            return
        if payload.requested_by == POISON:
            raise Poisoned(f"poisoned event {event.id}")
        await conn.execute(
            "INSERT INTO counts (case_id, n, last_event) VALUES ($1, 1, $2) "
            "ON CONFLICT (case_id) DO UPDATE SET n = counts.n + 1, last_event = $2",
            event.subject,
            event.id,
        )


class BatchCountingProjection(CountingProjection):
    """The same counts, applied a batch at a time; a batch holding the poison raises."""

    def __init__(self, topic: str, name: str = "case_counts") -> None:
        super().__init__(topic, name)
        self.batches: list[int] = []  # the size of each batch handed to handle_batch

    async def handle_batch(self, conn: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        self.batches.append(len(deliveries))
        counted = [d for d in deliveries if isinstance(d.payload, ConsentRequested)]
        for delivery in counted:
            assert isinstance(delivery.payload, ConsentRequested)
            if delivery.payload.requested_by == POISON:
                raise Poisoned(f"poisoned event {delivery.event.id} in a batch")
        # One statement for the batch; the rows written last per case name the last event.
        await conn.execute(
            "INSERT INTO counts (case_id, n, last_event) "
            "SELECT case_id, count(*), (array_agg(event_id ORDER BY i DESC))[1] "
            "FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS u(case_id, event_id, i) "
            "GROUP BY case_id "
            "ON CONFLICT (case_id) DO UPDATE "
            "SET n = counts.n + excluded.n, last_event = excluded.last_event",
            [d.event.subject for d in counted],
            [d.event.id for d in counted],
        )


def consent_requested(
    case_id: uuid.UUID, *, event_id: uuid.UUID | None = None, requested_by: str = "ib-1"
) -> CloudEvent:
    """A bus event the counting projection counts."""
    payload = ConsentRequested(
        case_id=case_id, requested_by=requested_by, requested_at=datetime.now(UTC)
    )
    return CloudEvent(
        id=event_id or uuid.uuid4(),
        source="/passend/test",
        type=payload.event_type,
        subject=str(case_id),
        time=datetime.now(UTC),
        swv="swv-test",
        correlationid="corr",
        causationid="cause",
        actor="tester",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


async def produce(
    bootstrap: str,
    kind: Any,
    topic: str,
    events: Iterable[CloudEvent],
    raw: Iterable[tuple[bytes, list[tuple[str, bytes]], bytes]] = (),
) -> None:
    """Publish events (and raw ``(key, headers, value)`` records) and wait for the acks."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_settings(kind))
    await producer.start()
    try:
        futures = []
        for event in events:
            key, headers, value = event.to_kafka()
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        for key, headers, value in raw:
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def create_topic(bootstrap: str, topic: str) -> None:
    await ensure_topics(bootstrap, [topic], partitions=topics.PARTITIONS)


async def committed_total(bootstrap: str, group: str, topic: str) -> int:
    """The sum of the group's committed offsets over the topic's partitions."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()
        total = 0
        for p in consumer.partitions_for_topic(topic) or ():
            offset = await consumer.committed(TopicPartition(topic, p))
            total += offset or 0
        return total
    finally:
        await consumer.stop()


async def counts(pool: asyncpg.Pool, projection: str = "case_counts") -> dict[str, int]:
    """The counting projection's read model: case id -> number of events."""
    async with read_model(pool, projection) as conn:
        rows = await conn.fetch("SELECT case_id, n FROM counts")
    return {r["case_id"]: r["n"] for r in rows}


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 15) -> list[Any]:
    """Read ``topic`` from the start without a group until ``expected`` records came."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for part in batch.values() for r in part)
    finally:
        await consumer.stop()
    return records


async def _main(db_url: str, bootstrap: str, kind: Any, topic: str, service: str) -> None:
    pool = await create_pool(db_url, max_size=4)
    await migrate(pool, ["passend_backbone.migrations"])
    runner = Consumers(
        service=service,
        pool=pool,
        bootstrap=bootstrap,
        kind=kind,
        projections=[CountingProjection(topic)],
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await runner.start()
    print("started", flush=True)
    await stop.wait()
    await runner.stop()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:6]))
