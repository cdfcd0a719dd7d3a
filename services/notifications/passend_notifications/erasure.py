"""What intake's erasure of a pupil means here: the pupil's cases tell their parents nothing.

This service keeps nothing of a parent: their address, name and links are asked of intake
at delivery (:mod:`passend_notifications.parents`), so intake's erasure (the pupil's key
deleted) already leaves nothing to find or send; a message still queued for a parent is
cancelled when intake answers that the pupil is gone. The pupil is remembered as erased
(``erased_pupils``) so the scheduler plans no new message to the parents of their cases,
whichever order the topics deliver the erasure and the case's events in.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def remember_erased(
    conn: asyncpg.Connection, swv: str, pupil_ref: str, erased_at: datetime
) -> None:
    """Record that intake erased the pupil (idempotent)."""
    await conn.execute(
        "INSERT INTO erased_pupils (swv, pupil_ref, erased_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        swv,
        pupil_ref,
        erased_at,
    )


async def is_erased(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> bool:
    """Whether intake erased the pupil."""
    found: bool | None = await conn.fetchval(
        "SELECT true FROM erased_pupils WHERE swv = $1 AND pupil_ref = $2", swv, pupil_ref
    )
    return bool(found)


async def case_of_erased_pupil(conn: asyncpg.Connection, swv: str, case_id: object) -> bool:
    """Whether the case's pupil (as this service learnt it) was erased."""
    found: bool | None = await conn.fetchval(
        "SELECT true FROM case_facts f JOIN erased_pupils e USING (swv, pupil_ref) "
        "WHERE f.swv = $1 AND f.case_id = $2",
        swv,
        case_id,
    )
    return bool(found)
