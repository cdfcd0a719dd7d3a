"""Applying one consumed batch inside one database transaction, idempotently.

Each delivery is marked handled (per projection generation, or per reactor) in the same
transaction as its effect, so a redelivered event changes nothing. A handler that raises
for one event raises :class:`HandlerFailed` naming it: the caller rolls the transaction
back and the delivery policy (``passend_consumerkit.delivery``) retries or dead-letters
that event. A projection's batch handler that raises is undone to a savepoint and the
batch applied one event at a time instead, which finds the failing event; a transient
failure (:func:`~passend_backbone.consumer.failures.is_transient`) is raised as it is,
since the whole transaction is lost then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog

from passend_backbone.consumer.bookkeeping import Bookkeeping
from passend_backbone.consumer.deliveries import Delivery, RawEvent
from passend_backbone.consumer.failures import is_transient
from passend_backbone.consumer.kinds import (
    BatchProjection,
    Projection,
    RawBatchProjection,
    Reactor,
)
from passend_backbone.eventstore.port import EventStore
from passend_backbone.logs import log_context


class HandlerFailed(Exception):
    """A projection's or reactor's code raised for one delivery."""

    def __init__(self, delivery: Delivery, cause: BaseException) -> None:
        super().__init__(f"handling event {delivery.event.id} failed: {cause!r}")
        self.delivery = delivery
        self.cause = cause


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
        # A savepoint: a failed batch leaves the handled marks and nothing else. Written
        # out, as the appending transaction may be one asyncpg did not start (inline).
        await conn.execute("SAVEPOINT passend_batch")
        try:
            await projection.handle_batch(conn, todo)
            await conn.execute("RELEASE SAVEPOINT passend_batch")
            return
        except Exception as exc:
            if is_transient(exc):
                raise
            await conn.execute("ROLLBACK TO SAVEPOINT passend_batch")
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


async def apply_raw_projection(
    conn: asyncpg.Connection,
    projection: RawBatchProjection,
    events: Sequence[RawEvent | Delivery],
) -> None:
    """:func:`apply_projection` for a rebuild's batch of raw and parsed events.

    The handled marks go in with one ``COPY`` when the batch's ids are new (a fresh
    generation: the common case), else with the upsert that skips the ones already
    there. What the projection raises propagates: the caller applies the batch through
    the contract then.
    """
    ids = [e.id if isinstance(e, RawEvent) else str(e.event.id) for e in events]
    if not ids:
        return
    new = await _mark_new_ids(conn, ids)
    todo: list[RawEvent | Delivery] = []
    for event, event_id in zip(events, ids, strict=True):
        if event_id in new:
            new.discard(event_id)  # the same event twice in one batch
            todo.append(event)
    if todo:
        await projection.handle_raw_batch(conn, todo)


async def _mark_new_ids(conn: asyncpg.Connection, ids: list[str]) -> set[str]:
    """Mark ``ids`` (text) handled in the current generation; return those that were new."""
    if len(set(ids)) == len(ids):
        try:
            async with conn.transaction():  # a savepoint: a duplicate undoes only the COPY
                await conn.copy_records_to_table(
                    "handled", records=[(i,) for i in ids], columns=["event_id"]
                )
            return set(ids)
        except asyncpg.UniqueViolationError:
            pass  # some were handled before (a resumed rebuild, a republished event)
    rows = await conn.fetch(
        "INSERT INTO handled (event_id) SELECT unnest($1::uuid[]) "
        "ON CONFLICT DO NOTHING RETURNING event_id::text",
        ids,
    )
    return {row["event_id"] for row in rows}


async def apply_reactor(
    conn: Any,
    reactor: Reactor,
    store: EventStore,
    deliveries: Sequence[Delivery],
    bookkeeping: Bookkeeping,
) -> None:
    """Mark new events handled by ``reactor`` and react to only those (``conn`` is the
    bookkeeping's open transaction)."""
    ids = [d.event.id for d in deliveries]
    new = await bookkeeping.new_for_reactor(conn, reactor.name, ids) if ids else set()
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


def default_log() -> Any:
    """The module logger used when a caller passes none."""
    return structlog.get_logger("passend_backbone.consumer")
