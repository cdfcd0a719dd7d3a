"""The delivery queue on real PostgreSQL: schedule once, one owner per message, taken over
at once when its owner dies (at the lease when it hangs), and at most two data phases."""

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
from passend_notifications.queue import (
    claim,
    enqueue,
    hold_ownership,
    mark_data_phase,
    owner_key,
)
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
    payload = CaseClaimed(
        case_id=uuid.uuid4(), school_id="s", ib_id="ib-7", worker_id="w", claimed_at=NOW
    )
    event = bus_event(payload)
    for _ in range(2):
        async with service_pool.acquire() as conn, conn.transaction():
            await scheduler.react(conn, event, payload, store)
    rows = await service_pool.fetch("SELECT recipient_id, status FROM deliveries")
    assert [tuple(r) for r in rows] == [("ib-7", "pending")]
    stream = await store.read_stream(event.subject)
    assert [e.event_type for e in stream] == ["nl.passend.notifications.NotificationScheduled.v1"]


async def test_two_workers_never_claim_the_same_message(service_pool: asyncpg.Pool) -> None:
    async with service_pool.acquire() as conn:
        for _ in range(20):
            await enqueue(conn, "swv", planned(), uuid.uuid4(), "corr", NOW)

    both_done = asyncio.Barrier(2)

    async def worker() -> list[uuid.UUID]:
        got: list[uuid.UUID] = []
        async with hold_ownership(service_pool) as owner:
            while batch := await claim(service_pool, NOW, LEASE, 1, owner):
                got.extend(m.message_id for m in batch)
                await asyncio.sleep(0)  # let the other worker interleave
            # Both stay alive until both are done: a loop that ends gives its messages up.
            await both_done.wait()
        return got

    first, second = await asyncio.gather(worker(), worker())
    assert not set(first) & set(second)
    assert len(first) + len(second) == 20


async def test_a_live_owner_keeps_its_message_until_the_lease_a_hung_one_loses_it(
    service_pool: asyncpg.Pool,
) -> None:
    store = PostgresEventStore(service_pool, "/passend/notifications")
    message = planned()
    async with service_pool.acquire() as conn:
        await enqueue(conn, "swv", message, uuid.uuid4(), "corr", NOW)
    async with hold_ownership(service_pool) as hung, hold_ownership(service_pool) as other:
        [first] = await claim(service_pool, NOW, LEASE, 5, hung)
        assert (first.attempt, first.possible_duplicate) == (1, False)
        # The owner entered the data phase and then hangs (its process lives on).
        assert await mark_data_phase(service_pool, first, "aa", NOW)
        assert await claim(service_pool, NOW + LEASE - timedelta(seconds=1), LEASE, 5, other) == []
        [second] = await claim(service_pool, NOW + LEASE, LEASE, 5, other)
        assert (second.message_id, second.attempt, second.possible_duplicate) == (
            message.message_id,
            2,
            True,
        )
        # The owner that lost the message records nothing, and can't start a data phase.
        assert not await journal.record_sent(service_pool, store, first, "aa", NOW + LEASE)
        assert not await mark_data_phase(service_pool, first, "aa", NOW + LEASE)
        assert await journal.record_sent(service_pool, store, second, "bb", NOW + LEASE)
    stream = await store.read_stream(str(message.case_id))
    [sent] = stream
    assert sent.data["attempt"] == 2
    assert sent.data["possible_duplicate"] is True
    assert await claim(service_pool, NOW + LEASE * 10, LEASE, 5, uuid.uuid4()) == []


async def test_a_dead_owners_message_is_taken_over_at_once(
    service_pool: asyncpg.Pool, db_url: str
) -> None:
    """The owner's process dies: its connection, and the advisory lock on it, go; another
    loop takes the message over without waiting for the lease."""
    message = planned()
    async with service_pool.acquire() as conn:
        await enqueue(conn, "swv", message, uuid.uuid4(), "corr", NOW)
    dead = uuid.uuid4()
    alive = await asyncpg.connect(db_url)
    await alive.execute("SELECT pg_advisory_lock($1)", owner_key(dead))
    [first] = await claim(service_pool, NOW, LEASE, 5, dead)
    async with hold_ownership(service_pool) as other:
        assert await claim(service_pool, NOW, LEASE, 5, other) == [], "its owner still lives"
        alive.terminate()  # as the kernel closes the socket of a killed process
        [second] = await claim(service_pool, NOW, LEASE, 5, other)
    assert (second.message_id, second.attempt) == (first.message_id, 2)
    # It never entered the data phase: nobody can have a copy, so none is flagged.
    assert second.possible_duplicate is False


async def test_at_most_two_data_phases_ever_then_it_is_recorded_not_sent_again(
    service_pool: asyncpg.Pool,
) -> None:
    store = PostgresEventStore(service_pool, "/passend/notifications")
    message = planned()
    async with service_pool.acquire() as conn:
        await enqueue(conn, "swv", message, uuid.uuid4(), "corr", NOW)
    later = NOW
    claimed = []
    for _ in range(3):
        # Each owner enters the data phase (if it may) and dies before recording.
        async with hold_ownership(service_pool) as owner:
            [attempt] = await claim(service_pool, later, LEASE, 5, owner)
            claimed.append(
                (attempt.maybe_copies, await mark_data_phase(service_pool, attempt, "h", later))
            )
        later += timedelta(seconds=1)
    assert claimed == [(0, True), (1, True), (2, False)], "a third data phase is refused"
    async with hold_ownership(service_pool) as owner:
        [last] = await claim(service_pool, later, LEASE, 5, owner)
        assert last.maybe_copies == 2
        assert await journal.record_sent(service_pool, store, last, "h", later, confirmed=False)
    [sent] = await store.read_stream(str(message.case_id))
    assert (sent.data["possible_duplicate"], sent.data["confirmed"]) == (True, False)


async def test_a_refused_data_phase_takes_its_mark_back(service_pool: asyncpg.Pool) -> None:
    """The server refused the message after DATA (a 5xx): no copy, so no mark stands."""
    store = PostgresEventStore(service_pool, "/passend/notifications")
    message = planned()
    async with service_pool.acquire() as conn:
        await enqueue(conn, "swv", message, uuid.uuid4(), "corr", NOW)
    async with hold_ownership(service_pool) as owner:
        [first] = await claim(service_pool, NOW, LEASE, 5, owner)
        assert await mark_data_phase(service_pool, first, "h", NOW)
        assert await journal.record_failure(
            service_pool,
            store,
            first,
            "mail server answered 451 try later",
            NOW + timedelta(seconds=30),
            NOW,
            code="refused",
            delivered_nothing=True,
        )
        [second] = await claim(service_pool, NOW + timedelta(seconds=30), LEASE, 5, owner)
    assert (second.attempt, second.maybe_copies, second.possible_duplicate) == (2, 0, False)
