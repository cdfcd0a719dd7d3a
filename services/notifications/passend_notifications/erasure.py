"""Erasing a pupil's parents' contact details when intake erases the pupil (issue 9).

Intake's ``PupilErased`` deletes the pupil's key, which covers every copy of the pupil's
identity in the log; the parents' addresses this service holds in the clear are not
encrypted under it, so they are deleted here: the contacts of every parent of the pupil's
cases (the cases are found by their pupil in ``case_facts``, their ``parent_refs`` in
``case_people``, and each case's ``parents:<case_id>`` mailbox) and the cases' personal
links. The pupil is remembered as erased, so a case of theirs learnt later (the topics are
not ordered with each other) or an address offered again is dropped too.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog

_log = structlog.get_logger("passend.notifications.erasure")

# The parents' recipient ids of every case of the pupil: named parents and the case's
# parents' mailbox (see domain.rules.parents).
_PARENT_IDS = """
SELECT coalesce(array_agg(DISTINCT r), '{}') FROM (
    SELECT unnest(p.parent_refs) AS r
    FROM case_facts f JOIN case_people p USING (swv, case_id)
    WHERE f.swv = $1 AND f.pupil_ref = $2
    UNION SELECT 'parents:' || case_id FROM case_facts WHERE swv = $1 AND pupil_ref = $2
) ids
"""


async def forget_parents(
    conn: asyncpg.Connection, swv: str, pupil_ref: str, erased_at: datetime | None = None
) -> int:
    """Delete the contact details of the pupil's parents; how many addresses went.

    With ``erased_at`` the pupil is first recorded as erased. Idempotent: handling the
    event again deletes nothing more.
    """
    if erased_at is not None:
        await conn.execute(
            "INSERT INTO erased_pupils (swv, pupil_ref, erased_at) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            swv,
            pupil_ref,
            erased_at,
        )
    elif not await is_erased(conn, swv, pupil_ref):
        return 0
    recipients: list[str] = await conn.fetchval(_PARENT_IDS, swv, pupil_ref)
    deleted = await conn.execute(
        "DELETE FROM contacts WHERE swv = $1 AND recipient_id = ANY($2)", swv, recipients
    )
    await conn.execute(
        "DELETE FROM personal_links WHERE swv = $1 AND case_id IN "
        "(SELECT case_id FROM case_facts WHERE swv = $1 AND pupil_ref = $2)",
        swv,
        pupil_ref,
    )
    count = int(deleted.split()[-1])
    if count:
        _log.info("parent_contacts_erased", swv=swv, contacts=count)
    return count


async def is_erased(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> bool:
    """Whether intake erased the pupil."""
    found: bool | None = await conn.fetchval(
        "SELECT true FROM erased_pupils WHERE swv = $1 AND pupil_ref = $2", swv, pupil_ref
    )
    return bool(found)


async def parent_of_erased(conn: asyncpg.Connection, swv: str, recipient_id: str) -> bool:
    """Whether ``recipient_id`` is a parent (or parents' mailbox) of an erased pupil."""
    found: bool | None = await conn.fetchval(
        "SELECT true FROM case_facts f JOIN erased_pupils e USING (swv, pupil_ref) "
        "LEFT JOIN case_people p USING (swv, case_id) "
        "WHERE f.swv = $1 AND ($2 = ANY(p.parent_refs) OR $2 = 'parents:' || f.case_id) "
        "LIMIT 1",
        swv,
        recipient_id,
    )
    return bool(found)
