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

from passend_assignment.domain.case_commands import CASE_DECIDER, FireTimer
from passend_assignment.streams import load_directory
from passend_assignment.timers import DueTimer, mark_fired, take_due
from passend_backbone.commands import Refusal, RefusalKind, decide_and_append
from passend_backbone.eventstore import EventStore, Metadata

if TYPE_CHECKING:
    from passend_backbone.service import ServiceContext

ACTOR = "service:assignment-scheduler"
_log = structlog.get_logger("passend.assignment.scheduler")


def timer_event_id(timer: DueTimer) -> UUID:
    """The id of what a timer raises: the same on every firing, so a repeat appends nothing."""
    return uuid5(NAMESPACE_URL, f"passend:assignment:timer:{timer.case_id}:{timer.kind.value}")


async def _fire(conn: asyncpg.Connection, store: EventStore, timer: DueTimer, now: datetime) -> int:
    """W26: what the due timer raises, appended with the timer's own event id."""
    stream_id = str(timer.case_id)
    records = await store.read_stream(stream_id, conn=conn)
    directory, _ = await load_directory(store, timer.swv, conn)
    meta = Metadata(
        swv=timer.swv,
        actor=ACTOR,
        # What a timer raises belongs to the case's story: the correlation of its last event.
        correlation_id=records[-1].correlation_id if records else f"timer:{timer.case_id}",
        causation_id=f"timer:{timer.case_id}:{timer.kind.value}",
    )
    try:
        outcome = await decide_and_append(
            store,
            conn,
            CASE_DECIDER,
            stream_id,
            FireTimer(timer.kind, timer.swv, directory),
            meta=meta,
            now=now,
            event_ids=lambda _: timer_event_id(timer),
        )
    except Refusal as refusal:
        if refusal.kind is not RefusalKind.NOT_FOUND:
            raise
        # A row without its case can never fire; retire it rather than retry forever.
        _log.warning("contact_timer_without_case", case_id=str(timer.case_id))
        await mark_fired(conn, timer, now)
        return 0
    await mark_fired(conn, timer, now)
    return len(outcome.recorded)


async def fire_due_timers(pool: asyncpg.Pool, store: EventStore, now: datetime) -> int:
    """W26: fire every timer due at ``now``, each in its own transaction; events raised.

    The event is appended and the row marked fired in one transaction, and the event id
    is derived from the timer, so a crash between them fires again harmlessly. A case
    that changed meanwhile (a concurrent first contact) is decided again on its new
    state; one that keeps changing is left for the next round.
    """
    raised = 0
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                timer = await take_due(conn, now)
                if timer is None:
                    return raised
                raised += await _fire(conn, store, timer, now)
        except Refusal as refusal:
            if refusal.kind is not RefusalKind.CONFLICT:
                raise
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
