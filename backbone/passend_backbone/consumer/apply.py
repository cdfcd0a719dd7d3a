"""Applying one consumed batch in one database transaction, idempotently, with retries.

Each delivery is marked handled (per projection generation, or per reactor) in the same
transaction as its effect, so a redelivered event changes nothing. When a handler raises,
the whole transaction rolls back and is tried again; after ``retries`` failures of the
same event that event is set aside (to be dead-lettered) and the rest is applied. A
projection's batch handler that raises is undone to a savepoint and the batch applied one
event at a time instead, which finds the failing event. Errors that mean the database
itself is unreachable are retried without limit instead, because dead-lettering every
event of an outage would lose them from the read model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog

from passend_backbone.consumer.deliveries import Delivery, Failure
from passend_backbone.consumer.kinds import BatchProjection, Projection, Reactor
from passend_backbone.eventstore import EventStore
from passend_backbone.logs import log_context

_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)

Body = Callable[[asyncpg.Connection, Sequence[Delivery]], Awaitable[None]]


class HandlerFailed(Exception):
    """A projection's or reactor's code raised for one delivery."""

    def __init__(self, delivery: Delivery, cause: BaseException) -> None:
        super().__init__(f"handling event {delivery.event.id} failed: {cause!r}")
        self.delivery = delivery
        self.cause = cause


class Stopping(Exception):
    """The runner is stopping while the database is unreachable: give the batch up."""


async def apply_projection(
    conn: asyncpg.Connection, projection: Projection, deliveries: Sequence[Delivery]
) -> None:
    """Mark new events handled in the current generation and apply only those."""
    new = await _mark_new(
        conn,
        "INSERT INTO handled (event_id) SELECT unnest($1::uuid[]) "
        "ON CONFLICT DO NOTHING RETURNING event_id",
        [d.event.id for d in deliveries],
    )
    todo: list[Delivery] = []
    for delivery in deliveries:
        if delivery.event.id in new:
            new.discard(delivery.event.id)  # the same event twice in one batch
            todo.append(delivery)
    if isinstance(projection, BatchProjection) and len(todo) > 1:
        try:
            # A savepoint: a failed batch leaves the handled marks and nothing else.
            async with conn.transaction():
                await projection.handle_batch(conn, todo)
            return
        except _UNREACHABLE:
            raise
        except Exception as exc:
            # Which event failed is not known: one at a time finds it (and the retries
            # set it aside) while the others still apply.
            log = default_log()
            log.warning("consumer.batch_handler_failed", events=len(todo), error=repr(exc))
    for delivery in todo:
        try:
            with _event_log_context(delivery):
                await projection.handle(conn, delivery.event, delivery.payload)
        except Exception as exc:
            raise HandlerFailed(delivery, exc) from exc


async def apply_reactor(
    conn: asyncpg.Connection,
    reactor: Reactor,
    store: EventStore,
    deliveries: Sequence[Delivery],
) -> None:
    """Mark new events handled by ``reactor`` and react to only those."""
    new = await _mark_new(
        conn,
        "INSERT INTO public.reactor_handled (reactor, event_id) "
        "SELECT $2, unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
        [d.event.id for d in deliveries],
        reactor.name,
    )
    for delivery in deliveries:
        if delivery.event.id in new:
            new.discard(delivery.event.id)
            try:
                with _event_log_context(delivery):
                    await reactor.react(conn, delivery.event, delivery.payload, store)
            except Exception as exc:
                raise HandlerFailed(delivery, exc) from exc


def _event_log_context(delivery: Delivery) -> Any:
    # What a handler logs names the case (the event's subject: an opaque id, never a
    # person's data) and carries the correlation id of the action that caused it.
    event = delivery.event
    return log_context(
        case_id=event.subject, correlation_id=event.correlationid, event_id=str(event.id)
    )


async def _mark_new(conn: asyncpg.Connection, sql: str, ids: list[Any], *args: Any) -> set[Any]:
    if not ids:
        return set()
    rows = await conn.fetch(sql, ids, *args)
    return {row["event_id"] for row in rows}


async def record_consumed(conn: asyncpg.Connection, records: Sequence[Any]) -> None:
    """Advance the current generation's ``consumed`` offsets past ``records``."""
    ends: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        ends[key] = max(ends.get(key, 0), record.offset + 1)
    if not ends:
        return
    await conn.execute(
        "INSERT INTO consumed (topic, partition, next_offset) "
        "SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) "
        "ON CONFLICT (topic, partition) DO UPDATE "
        "SET next_offset = GREATEST(consumed.next_offset, excluded.next_offset)",
        [k[0] for k in ends],
        [k[1] for k in ends],
        list(ends.values()),
    )


async def apply_with_retries(
    pool: asyncpg.Pool,
    body: Body,
    deliveries: Sequence[Delivery],
    *,
    retries: int,
    log: Any,
    stopping: Callable[[], bool],
    backoff: float = 0.05,
) -> list[Failure]:
    """Run ``body`` in one transaction until it commits; return the deliveries set aside.

    A delivery is set aside after its handler failed ``retries`` times in a row.
    Raises :class:`Stopping` if ``stopping()`` turns true while the database is unreachable.
    """
    remaining = list(deliveries)
    failed: list[Failure] = []
    attempts: dict[int, int] = {}
    unreachable_for = 0
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await body(conn, remaining)
            return failed
        except HandlerFailed as exc:
            if isinstance(exc.cause, _UNREACHABLE):
                unreachable_for += 1
            else:
                unreachable_for = 0
                key = id(exc.delivery)
                attempts[key] = attempts.get(key, 0) + 1
                log.warning(
                    "consumer.handler_failed",
                    event_id=str(exc.delivery.event.id),
                    event_type=exc.delivery.event.type,
                    attempt=attempts[key],
                    error=repr(exc.cause),
                )
                if attempts[key] >= retries:
                    remaining = [d for d in remaining if d is not exc.delivery]
                    failed.append(Failure(exc.delivery.record, "handle", exc.cause))
                    continue
        except _UNREACHABLE as exc:
            unreachable_for += 1
            log.warning("consumer.database_unreachable", error=repr(exc))
        if unreachable_for and stopping():
            raise Stopping("stopping while the database is unreachable")
        # Grows to about two seconds for an outage; short for a handler's transient error.
        await asyncio.sleep(min(backoff * 2 ** min(unreachable_for, 6), 2.0))


def default_log() -> Any:
    """The module logger used when a caller passes none."""
    return structlog.get_logger("passend_backbone.consumer")
