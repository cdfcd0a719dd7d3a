"""A consumer that PostgreSQL picks as a deadlock's victim ten times in a row loses nothing.

A deadlock says nothing about the event being handled: it is retried for as long as it
lasts and never counts toward dead-lettering (``consumer/failures.py``). The projection
here takes two advisory locks, the first and then the second; a transaction of the test
takes them the other way round, so each try the two wait for each other and PostgreSQL
breaks the cycle by aborting one. The consumer's sessions check for deadlocks after 50 ms,
the test's after 10 s, so the consumer is always the one aborted. With the default three
retries per event, counting deadlocks would have dead-lettered the event after three.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import BACKBONE_MIGRATIONS, create_pool, migrate
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    committed_total,
    consent_requested,
    create_topic,
    produce,
    read_topic,
)

pytestmark = pytest.mark.integration

FIRST_LOCK = 7_357_001
SECOND_LOCK = 7_357_002
DEADLOCKS = 10
SERVICE = "svc"
GROUP = f"{SERVICE}.lock_taker"


class LockTaker:
    """Takes the first lock, then the second, then records the event as applied.

    While ``contested`` tries are left it stops between the two locks until the test
    says ``go``, so the test's transaction can take its locks in between.
    """

    name = "lock_taker"

    def __init__(self, topic: str) -> None:
        self.topics: tuple[str, ...] = (topic,)
        self.contested = DEADLOCKS
        self.holding_first = asyncio.Event()
        self.go = asyncio.Event()
        self.calls = 0

    async def setup(self, conn: asyncpg.Connection) -> None:
        # No key: an event applied twice would show as two rows.
        await conn.execute("CREATE TABLE applied (event_id uuid NOT NULL)")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        self.calls += 1
        await conn.execute("SELECT pg_advisory_xact_lock($1)", FIRST_LOCK)
        if self.contested > 0:
            self.holding_first.set()
            await self.go.wait()
            self.go.clear()
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SECOND_LOCK)
        await conn.execute("INSERT INTO applied (event_id) VALUES ($1)", event.id)


class Recorder:
    """A logger that remembers each line's event name and fields."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def bind(self, **_: object) -> Recorder:
        return self

    def _record(self, event: str, *_: object, **fields: Any) -> None:
        self.lines.append((event, fields))

    info = warning = error = exception = debug = _record

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.lines if name == event]


@pytest.fixture
async def consumer_pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool whose sessions detect deadlocks after 50 ms (set before any of them opened)."""
    admin = await asyncpg.connect(db_url)
    try:
        name = await admin.fetchval("SELECT current_database()")
        await admin.execute(f"ALTER DATABASE \"{name}\" SET deadlock_timeout = '50ms'")
    finally:
        await admin.close()
    pool = await create_pool(db_url, max_size=4)
    try:
        assert await pool.fetchval("SHOW deadlock_timeout") == "50ms"
        await migrate(pool, [BACKBONE_MIGRATIONS])
        yield pool
    finally:
        await pool.close()


async def _waits_for_a_lock(pool: asyncpg.Pool, pid: int) -> bool:
    waiting: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)", pid
    )
    return waiting


async def test_deadlocks_are_retried_until_they_pass_and_never_dead_letter(
    consumer_pool: asyncpg.Pool, db_url: str, broker: Broker, topic_name: str
) -> None:
    await create_topic(broker.bootstrap_servers, topic_name)
    event = consent_requested(uuid.uuid4())
    await produce(broker.bootstrap_servers, broker.kind, topic_name, [event])
    projection = LockTaker(topic_name)
    log = Recorder()
    consumers = Consumers(
        service=SERVICE,
        pool=consumer_pool,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
        projections=[projection],
        log=log,
    )
    rival = await asyncpg.connect(db_url)
    await consumers.start()
    try:
        # The rival never checks for deadlocks within a try: the consumer is the victim.
        await rival.execute("SET deadlock_timeout = '10s'")
        rival_pid = rival.get_server_pid()
        for attempt in range(1, DEADLOCKS + 1):
            await eventually(
                lambda: _true(projection.holding_first.is_set()),
                timeout=30,
                what=f"try {attempt} of the consumer (dead-lettered or stuck?)",
            )
            projection.holding_first.clear()
            async with rival.transaction():
                await rival.execute("SELECT pg_advisory_xact_lock($1)", SECOND_LOCK)
                # Wait for the consumer's first lock, then let the consumer ask for the
                # second: each now waits for the other.
                crossing = asyncio.create_task(
                    rival.execute("SELECT pg_advisory_xact_lock($1)", FIRST_LOCK)
                )
                await eventually(
                    lambda: _waits_for_a_lock(consumer_pool, rival_pid),
                    what="the rival to wait for the consumer's lock",
                )
                projection.contested -= 1
                projection.go.set()
                # PostgreSQL aborts the consumer's transaction, which frees the first lock.
                await asyncio.wait_for(crossing, timeout=30)

        # Uncontested now: the next try goes through.
        await eventually(
            lambda: _committed(broker, topic_name, 1), timeout=60, what="offset committed"
        )
    finally:
        await consumers.stop()
        await rival.close()

    async with read_model(consumer_pool, projection.name) as conn:
        assert await conn.fetch("SELECT event_id FROM applied") == [(event.id,)]
        assert await conn.fetchval("SELECT count(*) FROM handled") == 1
    assert projection.calls == DEADLOCKS + 1
    transient = log.named("consumer.transient_failure")
    assert len(transient) >= DEADLOCKS
    assert all("DeadlockDetectedError" in line["error"] for line in transient)
    assert log.named("consumer.handler_failed") == []
    assert log.named("consumer.dead_lettered") == []
    dead = await read_topic(
        broker.bootstrap_servers, topics.dead_letter(topic_name, GROUP), expected=1, timeout=2
    )
    assert dead == []


async def _committed(broker: Broker, topic: str, total: int) -> bool:
    return await committed_total(broker.bootstrap_servers, f"{SERVICE}.live", topic) == total


async def _true(value: bool) -> bool:
    return value
