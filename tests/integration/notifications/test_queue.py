"""The delivery queue on real PostgreSQL: schedule once, claim once, take over a lapsed lease."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from passend_backbone import db
from passend_backbone.eventstore import PostgresEventStore
from passend_contracts.events.assignment import CaseClaimed
from passend_notifications import journal
from passend_notifications.domain.planning import PlannedMessage
from passend_notifications.queue import claim, enqueue
from passend_notifications.reactors import Scheduler
from tests.unit.notifications.factories import bus_event

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def service_pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(db_url)
    await db.migrate(pool, ["passend_backbone.migrations", "passend_notifications.migrations"])
    try:
        yield pool
    finally:
        await pool.close()


def planned(case_id: uuid.UUID | None = None) -> PlannedMessage:
    return PlannedMessage(
        message_id=uuid.uuid4(),
        case_id=case_id or uuid.uuid4(),
        channel="email",
        role="ib",
        recipient_id="ib-7",
        template="zaak_geclaimd",
        facts={"zaak": "X", "datum": "27 november 2026"},
    )


async def test_an_event_reacted_to_twice_schedules_its_message_once(
    service_pool: asyncpg.Pool,
) -> None:
    """As when an auditor's replay or a reset consumer group brings an event back."""
    store = PostgresEventStore(service_pool, "/passend/notifications")
    scheduler = Scheduler(lambda: NOW)
    event = bus_event(
        CaseClaimed(
            case_id=uuid.uuid4(), school_id="s", ib_id="ib-7", worker_id="w", claimed_at=NOW
        )
    )
    for _ in range(2):
        async with service_pool.acquire() as conn, conn.transaction():
            await scheduler.react(conn, event, None, store)  # type: ignore[arg-type]
    rows = await service_pool.fetch("SELECT recipient_id, status FROM deliveries")
    assert [tuple(r) for r in rows] == [("ib-7", "pending")]
    stream = await store.read_stream(event.subject)
    assert [e.event_type for e in stream] == ["nl.passend.notifications.NotificationScheduled.v1"]


async def test_two_workers_never_claim_the_same_message(service_pool: asyncpg.Pool) -> None:
    async with service_pool.acquire() as conn:
        for _ in range(20):
            await enqueue(conn, "swv", planned(), uuid.uuid4(), "corr", NOW)

    async def worker() -> list[uuid.UUID]:
        got: list[uuid.UUID] = []
        while batch := await claim(service_pool, NOW, LEASE, 1):
            got.extend(m.message_id for m in batch)
            await asyncio.sleep(0)  # let the other worker interleave
        return got

    first, second = await asyncio.gather(worker(), worker())
    assert not set(first) & set(second)
    assert len(first) + len(second) == 20


async def test_a_lapsed_lease_is_taken_over_as_maybe_delivered(
    service_pool: asyncpg.Pool,
) -> None:
    store = PostgresEventStore(service_pool, "/passend/notifications")
    message = planned()
    async with service_pool.acquire() as conn:
        await enqueue(conn, "swv", message, uuid.uuid4(), "corr", NOW)
    [first] = await claim(service_pool, NOW, LEASE, 5)
    assert (first.attempt, first.maybe_delivered) == (1, False)
    # The first worker stops mid-send: nothing recorded. Within the lease nobody takes it.
    assert await claim(service_pool, NOW + LEASE - timedelta(seconds=1), LEASE, 5) == []
    [second] = await claim(service_pool, NOW + LEASE, LEASE, 5)
    assert (second.message_id, second.attempt, second.maybe_delivered) == (
        message.message_id,
        2,
        True,
    )
    # A worker that lost its lease records nothing; the one holding the message does.
    assert not await journal.record_sent(service_pool, store, first, "aa", NOW + LEASE)
    assert await journal.record_sent(service_pool, store, second, "bb", NOW + LEASE)
    stream = await store.read_stream(str(message.case_id))
    [sent] = stream
    assert sent.data["attempt"] == 2
    assert sent.data["possible_duplicate"] is True
    assert await claim(service_pool, NOW + LEASE * 10, LEASE, 5) == []
