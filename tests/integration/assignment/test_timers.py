"""W26 with a moved clock: a reminder, then one ContactDeadlineMissed, across scheduler restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from passend_assignment.domain.case_commands import Claim, RecordFirstContact
from passend_assignment.handlers import on_case
from passend_assignment.scheduler import contact_deadline_scheduler, fire_due_timers
from passend_devstack.waiting import eventually

from .kit import (
    Clock,
    context,
    meta_of,
    migrated_store,
    ports,
    route,
    submission,
    support_worker,
    types_of,
)

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 24, 10, tzinfo=UTC)  # Wednesday before Easter
REMIND_AT = datetime(2027, 4, 1, 22, tzinfo=UTC)  # start of Friday 2 April, Amsterdam (CEST)
DUE_AT = datetime(2027, 4, 2, 22, tzinfo=UTC)  # end of Friday 2 April


@contextlib.asynccontextmanager
async def scheduler(ctx) -> AsyncIterator[None]:
    """The service's background task, as the runtime runs it, until the block ends."""
    stop = asyncio.Event()
    work = contact_deadline_scheduler(poll_seconds=0.02)

    async def run() -> None:
        await work(ctx, stop)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_w26_reminder_then_exactly_one_missed_deadline_across_restarts(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    clock = Clock(SUBMITTED)
    ctx = context(db_url, pool, store, clock)
    try:
        request = submission(at=SUBMITTED)
        await route(pool, store, request, SUBMITTED)

        async def stream_types() -> list[str]:
            return types_of(await store.read_stream(str(request.case_id)))

        async with scheduler(ctx):
            clock.now = REMIND_AT - timedelta(seconds=1)
            # A direct round at the same instant proves nothing was due yet.
            assert await fire_due_timers(pool, store, clock.now) == 0
            clock.now = REMIND_AT

            async def reminded() -> bool:
                return "ContactDeadlineApproaching" in await stream_types()

            await eventually(reminded, what="reminder raised")

        # The scheduler is down while the deadline lapses; two start again together.
        clock.now = DUE_AT + timedelta(hours=3)
        async with scheduler(ctx), scheduler(ctx):

            async def missed() -> bool:
                return "ContactDeadlineMissed" in await stream_types()

            await eventually(missed, what="missed deadline raised")

        async with scheduler(ctx):
            clock.now = DUE_AT + timedelta(days=3)
            # Rows fired already: a further round raises nothing.
            assert await fire_due_timers(pool, store, clock.now) == 0

        # Even a timer row that lost its 'fired' mark appends nothing twice (deterministic id).
        await pool.execute("UPDATE contact_timers SET fired_at = NULL WHERE kind = 'lapse'")
        assert await fire_due_timers(pool, store, clock.now) == 0
        types = await stream_types()
        assert types == ["RequestRouted", "ContactDeadlineApproaching", "ContactDeadlineMissed"]
        missed_event = (await store.read_stream(str(request.case_id)))[-1]
        assert missed_event.data["receiving_worker_id"] == "ow-anouk"
        assert missed_event.data["due_at"].startswith("2027-04-02T22:00:00")
    finally:
        await pool.close()


async def test_w26_first_contact_stops_the_clock(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=SUBMITTED)
        await route(pool, store, request, SUBMITTED)
        now = SUBMITTED + timedelta(days=1)

        anouk = support_worker("ow-anouk", None)
        for command in (Claim("ow-anouk", None), RecordFirstContact("ow-anouk", now)):
            await on_case(
                ports(pool, store),
                anouk,
                request.case_id,
                command,
                meta=meta_of(anouk),
                now=now,
            )
        rows = await pool.fetch("SELECT cancelled_at FROM contact_timers")
        assert len(rows) == 2
        assert all(r["cancelled_at"] == now for r in rows)
        assert await fire_due_timers(pool, store, DUE_AT + timedelta(days=1)) == 0
        types = types_of(await store.read_stream(str(request.case_id)))
        assert types == ["RequestRouted", "CaseClaimed", "FirstContactRecorded"]
    finally:
        await pool.close()
