"""W16: which teacher each pupil has, as the pupil's latest request names her.

Kept beside the pupil's key (``public.pupil_teachers``, migration 010), written in the
submitting command's transaction, so a teacher's pupils are one indexed read when she signs
in. Erasing the pupil deletes the key's row and this one with it.
"""

from __future__ import annotations

import asyncpg


async def name_teacher(
    conn: asyncpg.Connection, swv: str, pupil_ref: str, teacher_id: str | None
) -> None:
    """Within the submitting transaction: the request names ``teacher_id`` as the pupil's
    teacher (a request that names none leaves the pupil nobody's)."""
    if teacher_id is None:
        await conn.execute(
            "DELETE FROM public.pupil_teachers WHERE swv = $1 AND pupil_ref = $2", swv, pupil_ref
        )
        return
    await conn.execute(
        "INSERT INTO public.pupil_teachers (swv, pupil_ref, teacher_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (swv, pupil_ref) DO UPDATE SET teacher_id = EXCLUDED.teacher_id",
        swv,
        pupil_ref,
        teacher_id,
    )
