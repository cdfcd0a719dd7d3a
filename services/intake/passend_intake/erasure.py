"""Erasing a pupil by deleting their key: every encrypted copy becomes unreadable.

The events stay as they are (append-only, hash chain intact): their ciphertext can no
longer be opened, so every read model, projection rebuild and topic replay shows the
identity as erased. What remains is pseudonymous (``pupil_ref``, the case's facts), and
each case's own history records the erasure (``CaseErased``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg

from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.eventstore import ConcurrencyError, EventStore, Metadata, NewEvent
from passend_backbone.texts.keys import PostgresTextKeys
from passend_contracts.events.intake import ErasureReason, PupilErased, RequestSubmitted
from passend_intake import consent_links, pupil_keys
from passend_intake.domain.decider import CASE
from passend_intake.domain.erasure import ErasureDecision, case_erasure
from passend_intake.projections import RequestsProjection

Reason = Literal["request", "retention"]
_ATTEMPTS = 5


async def erase_pupil(
    pool: asyncpg.Pool,
    swv: str,
    pupil_ref: str,
    *,
    erased_by: str,
    now: datetime,
    reason: Reason = "request",
    category: str | None = None,
    expected_cases: int | None = None,
    store: EventStore | None = None,
    decision: ErasureDecision | None = None,
    conn: asyncpg.Connection | None = None,
) -> bool:
    """Delete the pupil's key (crypto-shredding) and record that it happened, atomically.

    The personal links of the pupil's cases are voided with it: their tokens were derived
    from the key, so none can be derived (shown, mailed) again, and none can be used.

    With ``expected_cases`` (the retention job) nothing is erased when the pupil has more
    submitted cases than that: a new request came in since the candidate was chosen. The
    key row is locked first, so a submission encrypting with it either committed before
    (and is counted) or waits and makes a new key. With ``store`` a ``PupilErased`` event
    is appended, and every case of the pupil records ``CaseErased`` in its own history (an
    open one withdrawn first: :func:`passend_intake.domain.erasure.case_erasure`); a case
    command racing it makes the whole erasure run again. ``conn``: erase inside the
    caller's transaction (the privacy officer's command). True when a key was deleted.
    ``pupil_ref``: intake's pseudonym of the pupil, or the school's reference while intake
    knows it (the events name the pupil by the pseudonym only).
    """
    closed = await _closed_cases(pool, swv) if store is not None else set()
    args = (swv, pupil_ref, erased_by, now, reason, category, expected_cases, store, decision)
    if conn is not None:
        # The caller's transaction: a lost race (ConcurrencyError) rolls it back whole, and
        # the caller's command runs again (passend_backbone.commands.execute).
        return await _erase(conn, *args, closed)
    for attempt in range(_ATTEMPTS):
        try:
            async with pool.acquire() as own, own.transaction():
                return await _erase(own, *args, closed)
        except ConcurrencyError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable: the loop returns or raises")


async def cases_of(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> list[uuid.UUID]:
    """Every case ever submitted for the pupil (from the store, not a read model)."""
    rows = await conn.fetch(
        "SELECT stream_id::uuid AS stream_id FROM public.events WHERE event_type = $1 "
        "AND swv = $2 AND data->>'pupil_ref' = $3",
        RequestSubmitted.event_type,
        swv,
        pupil_ref,
    )
    return [r["stream_id"] for r in rows]


async def shred(
    conn: asyncpg.Connection,
    swv: str,
    pupil_ref: str,
    key_id: uuid.UUID,
    case_ids: list[uuid.UUID],
    erased_by: str,
    erased_at: datetime,
    reason: str,
    category: str | None,
) -> None:
    """The erasure itself: the keys deleted (the identity's, and the cases' text keys), the
    cases' links voided, the erasure recorded.

    Also what the erasure ledger applies again to a restored database
    (:mod:`passend_intake.erasure_ledger`); every step is idempotent.
    """
    await conn.execute("DELETE FROM public.pupil_keys WHERE key_id = $1", key_id)
    # The free texts of the pupil's requests are sealed per case (passend_backbone.texts).
    await PostgresTextKeys().erase(conn, swv, [str(c) for c in case_ids])
    # The links could no longer be derived anyway; voided, none can be used either.
    await consent_links.void_cases(conn, case_ids, erased_at)
    await conn.execute(
        "INSERT INTO public.pupil_erasures "
        "(key_id, swv, pupil_ref, erased_by, erased_at, reason, category) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        key_id,
        swv,
        pupil_ref,
        erased_by,
        erased_at,
        reason,
        category,
    )


async def _closed_cases(pool: asyncpg.Pool, swv: str) -> set[uuid.UUID]:
    """Cases whose trajectory closed (W21): erasing their pupil does not withdraw them."""
    try:
        async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
            rows = await conn.fetch(
                "SELECT case_id FROM case_progress WHERE closed_at IS NOT NULL AND swv = $1", swv
            )
    except ProjectionNotSetUp:  # a fresh store: nothing is known to be closed
        return set()
    return {r["case_id"] for r in rows}


async def _erase(
    conn: asyncpg.Connection,
    swv: str,
    pupil_ref: str,
    erased_by: str,
    now: datetime,
    reason: Reason,
    category: str | None,
    expected_cases: int | None,
    store: EventStore | None,
    decision: ErasureDecision | None,
    closed: set[uuid.UUID],
) -> bool:
    # The pupil by intake's pseudonym or, while intake knows it, the school's reference.
    pupil_ref = await pupil_keys.pseudonym_of(conn, swv, pupil_ref)
    row = await conn.fetchrow(
        "SELECT key_id FROM public.pupil_keys WHERE swv = $1 AND pupil_ref = $2 FOR UPDATE",
        swv,
        pupil_ref,
    )
    if row is None:
        return False
    case_ids = await cases_of(conn, swv, pupil_ref)
    if expected_cases is not None and len(case_ids) != expected_cases:
        return False
    if store is not None:
        await _record(
            conn,
            store,
            swv,
            pupil_ref,
            row["key_id"],
            case_ids,
            erased_by,
            now,
            reason,
            category,
            decision,
            closed,
        )
    # The keys go last: what was just recorded (a withdrawal's reason is a sealed text) is
    # sealed with the case's key and is as unreadable as the rest.
    await shred(conn, swv, pupil_ref, row["key_id"], case_ids, erased_by, now, reason, category)
    return True


async def _record(
    conn: asyncpg.Connection,
    store: EventStore,
    swv: str,
    pupil_ref: str,
    key_id: uuid.UUID,
    case_ids: list[uuid.UUID],
    erased_by: str,
    now: datetime,
    reason: Reason,
    category: str | None,
    decision: ErasureDecision | None,
    closed: set[uuid.UUID],
) -> None:
    """``PupilErased`` on its own stream, and each case's erasure in its history."""
    correlation = str(uuid.uuid4())
    meta = Metadata(
        swv=swv,
        actor=erased_by,
        correlation_id=correlation,
        causation_id=f"erasure:{key_id}",
    )
    erased = PupilErased(
        pupil_ref=pupil_ref,
        key_id=key_id,
        reason=ErasureReason(reason),
        category=category,
        erased_by=erased_by,
        erased_at=now,
        request_id=decision.request_id if decision else None,
        requested_by=decision.requested_by if decision else None,
        confirmed_by=decision.confirmed_by if decision else None,
        grounds=decision.grounds if decision else None,
    )
    await store.append(f"pupil-erasure:{key_id}", 0, [NewEvent.of(erased)], meta, conn=conn)
    for case_id in case_ids:
        records = await store.read_stream(str(case_id), conn=conn)
        state = CASE.fold_stored(records)
        events = case_erasure(
            state,
            case_id,
            reason=ErasureReason(reason),
            erased_by=erased_by,
            now=now,
            decision=decision,
            still_open=case_id not in closed,
        )
        if events:
            await store.append(
                str(case_id), len(records), [NewEvent.of(e) for e in events], meta, conn=conn
            )
