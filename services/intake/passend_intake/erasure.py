"""Erasing a pupil by deleting their key: every encrypted copy becomes unreadable."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def erase_pupil(
    pool: asyncpg.Pool, swv: str, pupil_ref: str, *, erased_by: str, now: datetime
) -> bool:
    """Delete the pupil's key (crypto-shredding) and record that it happened.

    The events stay as they are (append-only, hash chain intact); their ciphertext can no
    longer be opened, so read models show the identity as erased. True when a key existed.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "DELETE FROM public.pupil_keys WHERE swv = $1 AND pupil_ref = $2 RETURNING key_id",
            swv,
            pupil_ref,
        )
        if row is None:
            return False
        await conn.execute(
            "INSERT INTO public.pupil_erasures (key_id, swv, pupil_ref, erased_by, erased_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            row["key_id"],
            swv,
            pupil_ref,
            erased_by,
            now,
        )
        return True
