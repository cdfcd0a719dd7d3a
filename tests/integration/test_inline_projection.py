"""A service's own events are in its own read models when the append commits, and the
consumer, handed the same events by the broker later, changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from passend_backbone.consumer.inline import InlineProjections
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.schema import ensure_projection
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import create_pool, migrate
from passend_backbone.eventstore import Metadata, NewEvent
from passend_backbone.eventstore.store import PostgresEventStore
from passend_backbone.kafka_io import ensure_topics, start_producer
from passend_backbone.relay import OutboxRelay
from passend_backbone.tenancy import APP_ROLE, tenant_transaction
from passend_contracts.events.intake import ConsentRequested
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    POISON,
    BatchCountingProjection,
    CountingProjection,
    counts,
)

pytestmark = pytest.mark.integration

SOURCE = "/passend/test"
META = Metadata(swv="swv-test", actor="tester", correlation_id="corr-1", causation_id="cmd-1")


def requested(case_id: uuid.UUID, requested_by: str = "ib-1") -> NewEvent:
    return NewEvent.of(
        ConsentRequested(case_id=case_id, requested_by=requested_by, requested_at=datetime.now(UTC))
    )


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url)
    await migrate(pool, ["passend_backbone.migrations"])
    # As a service's tenancy migration does: the API's role may append its tenant's events.
    await pool.execute("SELECT passend_protect_tenant_tables()")
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def topic(broker: Broker, topic_name: str) -> str:
    assert await ensure_topics(broker.bootstrap_servers, [topic_name]) == [topic_name]
    return topic_name


async def inline_store(
    db: asyncpg.Pool, projection: CountingProjection, topic: str, *, set_up: bool = True
) -> PostgresEventStore:
    """A store whose appends apply ``projection`` (its generation made first, unless not)."""
    if set_up:
        await ensure_projection(db, projection)
    store = PostgresEventStore(db, SOURCE)
    inline = InlineProjections([projection], topic, SOURCE)
    assert inline, "the projection reads the store's own topic"
    store.apply_in_transaction(inline.apply)
    return store


async def test_an_appended_event_is_in_the_read_model_when_the_append_returns(
    db: asyncpg.Pool, topic: str, broker: Broker
) -> None:
    projection = CountingProjection(topic)
    store = await inline_store(db, projection, topic)
    cases = [uuid.uuid4() for _ in range(3)]
    for case in cases:
        # One append on its own, one in a caller's transaction with two events.
        await store.append(str(case), 0, [requested(case)], META)
        async with db.acquire() as conn, conn.transaction():
            await store.append(str(case), 1, [requested(case), requested(case)], META, conn=conn)
    # No broker has seen anything yet: the read model has every event, once.
    assert await counts(db) == {str(c): 3 for c in cases}

    # The relay publishes them; the consumer gets all nine and changes nothing.
    producer: AIOKafkaProducer = await start_producer(
        broker.bootstrap_servers,
        "kafka" if broker.kind == "kafka" else "tansu",
    )
    try:
        relay = OutboxRelay(db, store, producer, topic, source=SOURCE)
        assert await relay.run_once() == 9
    finally:
        await producer.stop()
    runner = Consumers(
        service="inline",
        pool=db,
        bootstrap=broker.bootstrap_servers,
        kind="kafka" if broker.kind == "kafka" else "tansu",
        projections=[projection],
    )
    await runner.start()
    try:

        async def consumed_all() -> bool:
            async with read_model(db, projection.name) as conn:
                done = await conn.fetchval("SELECT coalesce(sum(next_offset), 0) FROM consumed")
            return bool(done == 9)

        await eventually(consumed_all, timeout=30)
    finally:
        await runner.stop()
    assert await counts(db) == {str(c): 3 for c in cases}
    # Handled once each: inline; the consumer found every handled mark.
    assert sorted(projection.handle_calls.values()) == [1] * 9


async def test_a_rolled_back_append_leaves_the_read_model_as_it_was(
    db: asyncpg.Pool, topic_name: str
) -> None:
    projection = CountingProjection(topic_name)
    store = await inline_store(db, projection, topic_name)
    case = uuid.uuid4()

    async def command_failing_after_its_append(conn: asyncpg.Connection) -> None:
        path_before = await conn.fetchval("SHOW search_path")
        async with conn.transaction():
            await store.append(str(case), 0, [requested(case)], META, conn=conn)
            # The caller's transaction goes on in its own schema after the append.
            assert await conn.fetchval("SHOW search_path") == path_before
            assert await conn.fetchval("SELECT count(*) FROM events") == 1
            raise RuntimeError("the command failed after its append")

    async with db.acquire() as conn:
        with pytest.raises(RuntimeError):
            await command_failing_after_its_append(conn)
    assert await counts(db) == {}
    assert await store.stream_version(str(case)) == 0


async def test_a_command_acting_as_its_tenant_gets_its_role_back(
    db: asyncpg.Pool, topic_name: str
) -> None:
    # A batch projection: two events go in through its batch handler (and its savepoint,
    # in a transaction the tenant set-up began).
    projection = BatchCountingProjection(topic_name)
    store = await inline_store(db, projection, topic_name)
    case = uuid.uuid4()
    async with tenant_transaction(db, META.swv) as conn:
        path_before = await conn.fetchval("SHOW search_path")
        await store.append(str(case), 0, [requested(case), requested(case)], META, conn=conn)
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        assert await conn.fetchval("SHOW search_path") == path_before
    assert await counts(db) == {str(case): 2}
    assert projection.batches == [2]


async def test_a_stream_whose_earlier_event_is_not_in_the_read_model_waits_for_the_consumer(
    db: asyncpg.Pool, topic_name: str
) -> None:
    projection = CountingProjection(topic_name)
    store = await inline_store(db, projection, topic_name)
    without_step = PostgresEventStore(db, SOURCE)  # another process, say: no inline step
    late, in_order = uuid.uuid4(), uuid.uuid4()
    await without_step.append(str(late), 0, [requested(late)], META)
    await store.append(str(late), 1, [requested(late)], META)
    await store.append(str(in_order), 0, [requested(in_order)], META)
    await store.append(str(in_order), 1, [requested(in_order), requested(in_order)], META)
    # The late stream's second event would overtake its first: both are the consumer's.
    assert await counts(db) == {str(in_order): 3}
    assert len(projection.handle_calls) == 3


async def test_an_inline_failure_keeps_the_append_and_leaves_the_event_to_the_consumer(
    db: asyncpg.Pool, topic_name: str
) -> None:
    projection = CountingProjection(topic_name)
    store = await inline_store(db, projection, topic_name)
    good, poisoned = uuid.uuid4(), uuid.uuid4()
    await store.append(str(poisoned), 0, [requested(poisoned, requested_by=POISON)], META)
    await store.append(str(good), 0, [requested(good)], META)
    # The append stands; the poisoned event is not marked handled, so the consumer
    # (with its retries and dead letters) still gets to it.
    assert await store.stream_version(str(poisoned)) == 1
    assert await counts(db) == {str(good): 1}
    async with read_model(db, projection.name) as conn:
        handled = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM handled")}
    assert len(handled) == 1


async def test_a_projection_not_set_up_yet_waits_for_the_consumer(
    db: asyncpg.Pool, topic_name: str
) -> None:
    projection = CountingProjection(topic_name)
    store = await inline_store(db, projection, topic_name, set_up=False)
    case = uuid.uuid4()
    await store.append(str(case), 0, [requested(case)], META)
    assert projection.handle_calls == {}
    await ensure_projection(db, projection)
    assert await counts(db) == {}


def test_projections_of_other_topics_are_left_to_their_consumers(topic_name: str) -> None:
    assert not InlineProjections([CountingProjection("another.topic")], topic_name, SOURCE)
