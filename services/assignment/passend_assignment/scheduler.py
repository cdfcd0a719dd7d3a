"""The contact-deadline scheduler: fires due timer rows once, surviving restarts (W26)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
import structlog

from passend_assignment.domain import contact
from passend_assignment.domain.errors import Refused
from passend_assignment.streams import load_case, load_directory
from passend_assignment.timers import DueTimer, mark_fired, take_due
from passend_backbone.eventstore import ConcurrencyError, EventStore, Metadata, NewEvent

if TYPE_CHECKING:
    from passend_backbone.service import ServiceContext

ACTOR = "service:assignment-scheduler"
_log = structlog.get_logger("passend.assignment.scheduler")


def timer_event_id(timer: DueTimer) -> UUID:
    """The id of what a timer raises: the same on every firing, so a repeat appends nothing."""
    return uuid5(NAMESPACE_URL, f"passend:assignment:timer:{timer.case_id}:{timer.kind.value}")


async def _fire(conn: asyncpg.Connection, store: EventStore, timer: DueTimer, now: datetime) -> int:
    try:
        case, records = await load_case(store, timer.case_id, timer.swv, conn)
    except Refused:
        # A row without its case can never fire; retire it rather than retry forever.
        _log.warning("contact_timer_without_case", case_id=str(timer.case_id))
        await mark_fired(conn, timer, now)
        return 0
    directory, _ = await load_directory(store, timer.swv, conn)
    events = contact.fire(case, timer.kind, directory.coordinator_of(case.work_unit_id), now)
    if events:
        last = records[-1]
        meta = Metadata(
            swv=timer.swv,
            actor=ACTOR,
            correlation_id=last.correlation_id,
            causation_id=f"timer:{timer.case_id}:{timer.kind.value}",
        )
        new = [NewEvent.of(e, event_id=timer_event_id(timer)) for e in events]
        await store.append(str(timer.case_id), len(records), new, meta, conn=conn)
    await mark_fired(conn, timer, now)
    return len(events)


async def fire_due_timers(pool: asyncpg.Pool, store: EventStore, now: datetime) -> int:
    """W26: fire every timer due at ``now``, each in its own transaction; events raised.

    The event is appended and the row marked fired in one transaction, and the event id
    is derived from the timer, so a crash between them fires again harmlessly. A case
    that changed meanwhile (a concurrent first contact) is left for the next round.
    """
    raised = 0
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                timer = await take_due(conn, now)
                if timer is None:
                    return raised
                raised += await _fire(conn, store, timer, now)
        except ConcurrencyError:
            return raised


def contact_deadline_scheduler(
    poll_seconds: float = 5.0,
) -> Callable[[ServiceContext, asyncio.Event], Awaitable[None]]:
    """The background task firing timers every ``poll_seconds`` by ``ctx.clock``."""

    async def contact_deadline_scheduler(ctx: ServiceContext, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                raised = await fire_due_timers(ctx.pool, ctx.store, ctx.clock())
                if raised:
                    _log.info("contact_timers_fired", events=raised)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The rows stay due: the next round fires them.
                _log.warning("contact_timers_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)

    return contact_deadline_scheduler
