"""The outbox relay reads an event as soon as its append commits: the store notifies at commit.

The relay LISTENs on a connection of its own; every append of a store set to notify sends
a NOTIFY in the same round trip, which PostgreSQL delivers at commit and drops on rollback.
So an append made by another instance of the service (a store object the relay never
heard of) is published at once, with a poll interval far longer than the test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from passend_backbone.db import create_pool, migrate
from passend_backbone.eventstore import Metadata, NewEvent, PostgresEventStore
from passend_backbone.kafka_io import ensure_topics, start_producer
from passend_backbone.relay.relay import CHANNEL, OutboxRelay
from passend_contracts.events.intake import ConsentRequested
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually

pytestmark = pytest.mark.integration

META = Metadata(swv="swv-1", actor="user-1", correlation_id="corr-1", causation_id="cmd-1")
SOURCE = "/passend/test"


def _event(n: int) -> NewEvent:
    example = dict(ConsentRequested.example or {})
    return NewEvent.of(
        ConsentRequested.model_validate({**example, "case_id": uuid.UUID(int=n + 1)})
    )


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url)
    await migrate(pool, ["passend_backbone.migrations"])
    try:
        yield pool
    finally:
        await pool.close()


async def test_an_append_of_another_instance_is_published_at_its_commit(
    db: asyncpg.Pool, broker: Broker, topic_name: str
) -> None:
    await ensure_topics(broker.bootstrap_servers, [topic_name])
    producer = await start_producer(broker.bootstrap_servers, broker.kind)  # type: ignore[arg-type]
    reader = AIOKafkaConsumer(
        topic_name,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await reader.start()
    relay_store = PostgresEventStore(db, SOURCE)
    relay = OutboxRelay(db, relay_store, producer, topic_name, source=SOURCE, poll_interval=300)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    # Another instance of the service: its own store object, appending in its own process.
    other = PostgresEventStore(db, SOURCE)
    other.notify_on_commit(CHANNEL)
    seen: list[bytes] = []

    async def published(count: int) -> bool:
        batch = await reader.getmany(timeout_ms=100)
        seen.extend(r.value for part in batch.values() for r in part if r.value)
        return len(seen) >= count

    try:
        await other.append("case-a", 0, [_event(0)], META)
        await eventually(lambda: published(1), timeout=20, what="the first event")
        async with db.acquire() as conn, conn.transaction():
            await other.append("case-b", 0, [_event(1)], META, conn=conn)
            # Fault injection, not synchronisation: a commit well after the append.
            await asyncio.sleep(0.3)
        await eventually(lambda: published(2), timeout=20, what="the late commit")
        async with db.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await other.append("case-c", 0, [_event(2)], META, conn=conn)
            await tx.rollback()  # no notification, nothing to publish
        assert await relay.checkpoint() == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await reader.stop()
        await producer.stop()
    assert len(seen) == 2
