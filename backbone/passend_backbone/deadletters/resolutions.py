"""Operators' decisions about dead letters, in ``public.dead_letter_resolutions``.

Written once per source record and consumer group: a command repeated after a crash or a
double click finds the first decision and changes nothing. The one change allowed is an
acknowledged record replayed later (its fix arrived after all).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from passend_backbone.deadletters.records import DeadLetterKey, Resolution

ACKNOWLEDGED = "acknowledged"
REPLAYED = "replayed"

_COLUMNS = (
    'consumer_group, topic, "partition", "offset", resolution, resolved_by, reason, '
    "event_id::text AS event_id, resolved_at"
)

_ACKNOWLEDGE = """
INSERT INTO public.dead_letter_resolutions
    (consumer_group, topic, "partition", "offset", resolution, resolved_by, reason, event_id)
VALUES ($1, $2, $3, $4, 'acknowledged', $5, $6, $7)
ON CONFLICT DO NOTHING
"""

_REPLAYED = """
INSERT INTO public.dead_letter_resolutions
    (consumer_group, topic, "partition", "offset", resolution, resolved_by, reason, event_id)
VALUES ($1, $2, $3, $4, 'replayed', $5, $6, $7)
ON CONFLICT (consumer_group, topic, "partition", "offset") DO UPDATE
SET resolution = 'replayed', resolved_by = excluded.resolved_by, reason = excluded.reason,
    resolved_at = clock_timestamp()
WHERE dead_letter_resolutions.resolution = 'acknowledged'
"""


def _resolution(row: Any) -> Resolution:
    return Resolution(
        row["resolution"], row["resolved_by"], row["reason"], row["resolved_at"], row["event_id"]
    )


async def find(conn: Any, group: str, key: DeadLetterKey) -> Resolution | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM public.dead_letter_resolutions "
        'WHERE consumer_group = $1 AND topic = $2 AND "partition" = $3 AND "offset" = $4',
        group,
        key.topic,
        key.partition,
        key.offset,
    )
    return None if row is None else _resolution(row)


async def of_groups(
    pool: asyncpg.Pool, groups: Iterable[str]
) -> dict[tuple[str, str, int, int], Resolution]:
    """Every decision of ``groups``, by (group, topic, partition, offset)."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM public.dead_letter_resolutions "
        "WHERE consumer_group = ANY($1::text[])",
        list(groups),
    )
    return {
        (r["consumer_group"], r["topic"], r["partition"], r["offset"]): _resolution(r) for r in rows
    }


async def acknowledge(
    conn: Any, group: str, key: DeadLetterKey, *, by: str, why: str, event_id: str | None
) -> tuple[Resolution, bool]:
    """Record the acknowledgement; (the decision now on record, whether this call made it)."""
    status = await conn.execute(
        _ACKNOWLEDGE, group, key.topic, key.partition, key.offset, by, why, event_id
    )
    found = await find(conn, group, key)
    assert found is not None
    return found, status.endswith(" 1")


async def replayed(
    conn: Any, group: str, key: DeadLetterKey, *, by: str, why: str, event_id: str | None
) -> None:
    """Record that the dead letter was applied (in the transaction that applied it)."""
    await conn.execute(_REPLAYED, group, key.topic, key.partition, key.offset, by, why, event_id)
