"""Appending this service's events to a case stream, together with the queue row they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import asyncpg

from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    Outcome,
    Refusal,
    StoredAnswer,
    execute,
)
from passend_backbone.eventstore import EventStore, Metadata, NewEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.notifications import (
    NotificationCancelled,
    NotificationFailed,
    NotificationParked,
    NotificationScheduled,
    NotificationSent,
)
from passend_notifications.domain.messages import message_id as derived_message_id
from passend_notifications.domain.planning import PlannedMessage
from passend_notifications.domain.replay import REPLAY, Bounce, CaseMessages, Replay
from passend_notifications.queue import Claimed, enqueue

ACTOR = "service:notifications"
_EVENT_NAMESPACE = UUID("5d2c8f3e-0a7b-4e61-b3c9-2f8a61d4e7c5")


def event_id(message_id: UUID, kind: str, attempt: int = 0) -> UUID:
    """Deterministic id of this service's ``kind`` event about one message and attempt."""
    return uuid5(_EVENT_NAMESPACE, f"{message_id}:{kind}:{attempt}")


async def lock_case(conn: asyncpg.Connection, case_id: UUID) -> None:
    """Hold the case's stream for appending until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"case:{case_id}")


async def append_to_case(
    conn: asyncpg.Connection,
    store: EventStore,
    case_id: UUID,
    events: list[NewEvent],
    meta: Metadata,
) -> None:
    """Append at the case stream's head inside the caller's transaction.

    The scheduler, the delivery worker and the replay endpoint all write to one case's
    stream; a per-case transaction lock serialises them, so the scheduler and the worker
    never meet a concurrency error (which, in the scheduler's consumer batch, would cost
    retries).
    """
    await lock_case(conn, case_id)
    version = await store.stream_version(str(case_id), conn=conn)
    await store.append(str(case_id), version, events, meta, conn=conn)


def _meta(message: Claimed) -> Metadata:
    return Metadata(
        swv=message.swv,
        actor=ACTOR,
        correlation_id=message.correlation_id,
        causation_id=str(event_id(message.message_id, "scheduled")),
    )


async def _finish(
    pool: asyncpg.Pool,
    store: EventStore,
    message: Claimed,
    update: str,
    args: tuple[object, ...],
    payloads: list[tuple[str, EventPayload]],
) -> bool:
    """Apply ``update`` to the row if this attempt still holds it, and append the events."""
    async with pool.acquire() as conn, conn.transaction():
        # Guarded by the attempt number: a worker whose lease ran out and was taken over
        # records nothing, the one holding the message now does.
        changed = await conn.fetchval(
            update + " WHERE message_id = $1 AND status = 'attempting' AND attempts = $2 "
            "AND owner IS NOT DISTINCT FROM $3 RETURNING true",
            message.message_id,
            message.attempt,
            message.owner,
            *args,
        )
        if not changed:
            return False
        events = [
            NewEvent.of(p, event_id=event_id(message.message_id, kind, message.attempt))
            for kind, p in payloads
        ]
        await append_to_case(conn, store, message.case_id, events, _meta(message))
    return True


async def record_sent(
    pool: asyncpg.Pool,
    store: EventStore,
    message: Claimed,
    content_sha256: str,
    now: datetime,
    *,
    confirmed: bool = True,
) -> bool:
    """The recipient's server accepted the message: mark it sent and say so in the log.

    ``confirmed=False``: nothing was sent now; two earlier attempts may each have
    delivered it, and a third copy is not sent (see worker.py).
    """
    payload = NotificationSent(
        message_id=message.message_id,
        case_id=message.case_id,
        channel=message.channel,
        recipient_role=message.recipient_role,
        recipient_id=message.recipient_id,
        attempt=message.attempt,
        possible_duplicate=message.possible_duplicate or message.maybe_delivered,
        content_sha256=content_sha256,
        sent_at=now,
        confirmed=confirmed,
    )
    return await _finish(
        pool,
        store,
        message,
        "UPDATE deliveries SET status = 'sent', lease_until = NULL, last_error = NULL, "
        "reason_code = NULL, updated_at = $4",
        (now,),
        [("sent", payload)],
    )


async def record_cancelled(
    pool: asyncpg.Pool, store: EventStore, message: Claimed, reason_code: str, now: datetime
) -> bool:
    """Nothing to tell any more (the link was used or replaced, the pupil erased)."""
    payload = NotificationCancelled(
        message_id=message.message_id,
        case_id=message.case_id,
        channel=message.channel,
        reason_code=reason_code,
        cancelled_at=now,
    )
    return await _finish(
        pool,
        store,
        message,
        "UPDATE deliveries SET status = 'cancelled', lease_until = NULL, reason_code = $4, "
        "updated_at = $5",
        (reason_code, now),
        [("cancelled", payload)],
    )


HANDED_TO_PARENTS = "handed_to_parents"


async def hand_to_parents(
    pool: asyncpg.Pool,
    store: EventStore,
    message: Claimed,
    parent_refs: tuple[str, ...],
    now: datetime,
) -> bool:
    """Replace a ``parents:<case>`` placeholder by one message per parent now known.

    Each gets the id the scheduler would have given it had it known the parents (event,
    parent), so a parent is told once however the placeholder and the parents met; the
    placeholder is cancelled in the same transaction.
    """
    async with pool.acquire() as conn, conn.transaction():
        changed = await conn.fetchval(
            "UPDATE deliveries SET status = 'cancelled', lease_until = NULL, reason_code = $4, "
            "updated_at = $5 WHERE message_id = $1 AND status = 'attempting' AND attempts = $2 "
            "AND owner IS NOT DISTINCT FROM $3 RETURNING true",
            message.message_id,
            message.attempt,
            message.owner,
            HANDED_TO_PARENTS,
            now,
        )
        if not changed:
            return False
        events = [
            NewEvent.of(
                NotificationCancelled(
                    message_id=message.message_id,
                    case_id=message.case_id,
                    channel=message.channel,
                    reason_code=HANDED_TO_PARENTS,
                    cancelled_at=now,
                ),
                event_id=event_id(message.message_id, "cancelled", message.attempt),
            )
        ]
        for parent_ref in parent_refs:
            planned = PlannedMessage(
                message_id=derived_message_id(
                    message.caused_by_event, message.recipient_role, parent_ref
                ),
                case_id=message.case_id,
                channel=message.channel,
                role=message.recipient_role,
                recipient_id=parent_ref,
                template=message.template,
                facts=message.facts,
            )
            if not await enqueue(
                conn, message.swv, planned, message.caused_by_event, message.correlation_id, now
            ):
                continue  # the scheduler knew this parent after all: told once
            scheduled = NotificationScheduled(
                message_id=planned.message_id,
                case_id=message.case_id,
                recipient_role=message.recipient_role,
                recipient_id=parent_ref,
                template=message.template,
                caused_by_event=message.caused_by_event,
                scheduled_at=now,
                channel=message.channel,
            )
            events.append(
                NewEvent.of(scheduled, event_id=event_id(planned.message_id, "scheduled"))
            )
        await append_to_case(conn, store, message.case_id, events, _meta(message))
    return True


async def record_failure(
    pool: asyncpg.Pool,
    store: EventStore,
    message: Claimed,
    reason: str,
    next_attempt_at: datetime | None,
    now: datetime,
    *,
    uncertain: bool = False,
    code: str | None = None,
    delivered_nothing: bool = False,
) -> bool:
    """A failed attempt: due again at ``next_attempt_at``, or parked when that is None.

    ``uncertain``: the attempt may have reached the recipient after all; a later
    successful attempt is then recorded as a possible duplicate. ``delivered_nothing``:
    the attempt entered the data phase but the server refused the message, so its mark
    (a possible copy) is taken back.
    """
    failed = NotificationFailed(
        message_id=message.message_id,
        case_id=message.case_id,
        channel=message.channel,
        attempt=message.attempt,
        reason=reason,
        next_attempt_at=next_attempt_at,
        failed_at=now,
        reason_code=code,
    )
    payloads: list[tuple[str, EventPayload]] = [("failed", failed)]
    if next_attempt_at is None:
        parked = NotificationParked(
            message_id=message.message_id,
            case_id=message.case_id,
            channel=message.channel,
            attempts=message.attempt,
            reason=reason,
            parked_at=now,
            reason_code=code,
        )
        payloads.append(("parked", parked))
    update = (
        "UPDATE deliveries SET status = CASE WHEN $9::timestamptz IS NULL THEN 'parked' "
        "ELSE 'pending' END, lease_until = NULL, last_error = $4, updated_at = $5, "
        "maybe_delivered = maybe_delivered OR $6, reason_code = $7, "
        "maybe_copies = greatest(maybe_copies - CASE WHEN $8 THEN 1 ELSE 0 END, 0), "
        "due_at = coalesce($9, due_at)"
    )
    args: tuple[object, ...] = (
        reason,
        now,
        uncertain,
        code,
        delivered_nothing,
        next_attempt_at,
    )
    return await _finish(pool, store, message, update, args, payloads)


async def replay(
    ports: CommandPorts,
    swv: str,
    message_id: UUID,
    meta: Metadata,
    now: datetime,
    key: IdempotencyKey | None = None,
) -> StoredAnswer:
    """Send a parked message back into delivery with a fresh round of attempts.

    One command on the message's case stream (``commands.execute``): the replay decider
    refuses a message that is unknown in ``swv`` (404) or not parked (409); otherwise
    ``NotificationReplayed`` is appended and the queue row made due again in the same
    transaction, and the answer is remembered with ``key``.
    """
    async with ports.transactions.tenant(swv) as tx:
        case_id: UUID | None = await tx.fetchval(
            "SELECT case_id FROM deliveries WHERE swv = $1 AND message_id = $2", swv, message_id
        )
    if case_id is None:
        raise Refusal.not_found("replay", "no such message")

    async def prepare(tx: Any, state: CaseMessages) -> Replay | Bounce:
        # The worker and the scheduler append to this stream under the case's lock; taking
        # it before appending means they never meet a version conflict because of a replay
        # (a replay that lost a race to them is decided again by ``execute``).
        await lock_case(tx, case_id)
        return Replay(message_id, meta.actor)

    async def requeue(tx: Any, outcome: Outcome[CaseMessages]) -> None:
        done = await tx.fetchval(
            "UPDATE deliveries SET status = 'pending', round_attempts = 0, due_at = $3, "
            "updated_at = $3 WHERE message_id = $1 AND swv = $2 AND status = 'parked' "
            "RETURNING true",
            message_id,
            swv,
            now,
        )
        if not done:  # the queue and the stream are written together, so this is a bug
            raise Refusal.conflict("replay", "the message's queue entry is not parked")

    return await execute(
        ports,
        REPLAY,
        str(case_id),
        prepare=prepare,
        tenant=swv,
        meta=meta,
        now=now,
        key=key,
        after=requeue,
        answer=lambda _: StoredAnswer(202, {"message_id": str(message_id), "status": "pending"}),
    )


async def bounce(
    ports: CommandPorts,
    swv: str,
    message_id: UUID,
    reason: str,
    meta: Metadata,
    now: datetime,
    key: IdempotencyKey | None = None,
) -> StoredAnswer:
    """A sent e-mail bounced: record it failed and parked, so the screens say it did not
    arrive (and the IB hands the link over in person). 404 unknown, 409 not sent."""
    async with ports.transactions.tenant(swv) as tx:
        row = await tx.fetchrow(
            "SELECT case_id, attempts FROM deliveries WHERE swv = $1 AND message_id = $2",
            swv,
            message_id,
        )
    if row is None:
        raise Refusal.not_found("bounce", "no such message")
    case_id: UUID = row["case_id"]

    async def prepare(tx: Any, state: CaseMessages) -> Replay | Bounce:
        await lock_case(tx, case_id)
        return Bounce(message_id, row["attempts"], reason)

    async def park(tx: Any, outcome: Outcome[CaseMessages]) -> None:
        await tx.execute(
            "UPDATE deliveries SET status = 'parked', last_error = $3, reason_code = 'bounced', "
            "updated_at = $4 WHERE message_id = $1 AND swv = $2 AND status = 'sent'",
            message_id,
            swv,
            reason,
            now,
        )

    return await execute(
        ports,
        REPLAY,
        str(case_id),
        prepare=prepare,
        tenant=swv,
        meta=meta,
        now=now,
        key=key,
        after=park,
        answer=lambda _: StoredAnswer(202, {"message_id": str(message_id), "status": "parked"}),
    )
