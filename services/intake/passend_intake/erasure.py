"""Erasing a pupil by deleting their key: every encrypted copy becomes unreadable.

The events stay as they are (append-only, hash chain intact): their ciphertext can no
longer be opened, so every read model, projection rebuild and topic replay shows the
identity as erased. What remains is pseudonymous (``pupil_ref``, the case's facts).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg

from passend_backbone.eventstore import EventStore, Metadata, NewEvent
from passend_contracts import registry
from passend_contracts.events.intake import RequestSubmitted
from passend_intake import consent_links

# Proposed contract event (contracts/passend_contracts/events/intake.py); while the
# contracts lack it, the erasure is recorded in ``pupil_erasures`` only.
PUPIL_ERASED = "nl.passend.intake.PupilErased.v1"

Reason = Literal["request", "retention"]


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
) -> bool:
    """Delete the pupil's key (crypto-shredding) and record that it happened, atomically.

    The personal links of the pupil's cases are voided with it: their tokens were derived
    from the key, so none can be derived (shown, mailed) again, and none can be used.

    With ``expected_cases`` (the retention job) nothing is erased when the pupil has more
    submitted cases than that: a new request came in since the candidate was chosen. The
    key row is locked first, so a submission encrypting with it either committed before
    (and is counted) or waits and makes a new key. With ``store`` a ``PupilErased`` event
    is appended when the contracts define it. True when a key was deleted.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT key_id FROM public.pupil_keys WHERE swv = $1 AND pupil_ref = $2 FOR UPDATE",
            swv,
            pupil_ref,
        )
        if row is None:
            return False
        case_ids: list[uuid.UUID] = [
            r["stream_id"]
            for r in await conn.fetch(
                "SELECT stream_id::uuid AS stream_id FROM public.events WHERE event_type = $1 "
                "AND swv = $2 AND data->>'pupil_ref' = $3",
                RequestSubmitted.event_type,
                swv,
                pupil_ref,
            )
        ]
        if expected_cases is not None and len(case_ids) != expected_cases:
            return False
        await conn.execute("DELETE FROM public.pupil_keys WHERE key_id = $1", row["key_id"])
        # The links could no longer be derived anyway; voided, none can be used either.
        await consent_links.void_cases(conn, case_ids, now)
        await conn.execute(
            "INSERT INTO public.pupil_erasures "
            "(key_id, swv, pupil_ref, erased_by, erased_at, reason, category) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            row["key_id"],
            swv,
            pupil_ref,
            erased_by,
            now,
            reason,
            category,
        )
        if store is not None and PUPIL_ERASED in registry.EVENT_TYPES:
            payload = registry.EVENT_TYPES[PUPIL_ERASED].model_validate(
                {
                    "pupil_ref": pupil_ref,
                    "key_id": str(row["key_id"]),
                    "reason": reason,
                    "category": category,
                    "erased_by": erased_by,
                    "erased_at": now.isoformat(),
                }
            )
            await store.append(
                f"pupil-erasure:{row['key_id']}",
                0,
                [NewEvent.of(payload)],
                Metadata(
                    swv=swv,
                    actor=erased_by,
                    correlation_id=str(uuid.uuid4()),
                    causation_id=f"erasure:{row['key_id']}",
                ),
                conn=conn,
            )
        return True
