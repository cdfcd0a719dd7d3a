"""The delivery queue table: adding planned messages once, and claiming due ones for sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from passend_notifications.domain.planning import PlannedMessage

_ENQUEUE = """
INSERT INTO deliveries (message_id, swv, case_id, channel, recipient_role, recipient_id,
                        template, facts, body, caused_by_event, correlation_id, due_at,
                        created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)
ON CONFLICT (message_id) DO NOTHING
RETURNING message_id
"""

# SKIP LOCKED: several workers (replicas) share the queue without waiting on each other.
# A message still 'attempting' after its lease ran out belonged to a worker that stopped
# mid-send; it is taken over and flagged maybe_delivered.
_CLAIM = """
WITH due AS (
    SELECT message_id, status AS was
    FROM deliveries
    WHERE (status = 'pending' AND due_at <= $1)
       OR (status = 'attempting' AND lease_until <= $1)
    ORDER BY due_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries AS d
SET status = 'attempting',
    attempts = d.attempts + 1,
    round_attempts = d.round_attempts + 1,
    lease_until = $2,
    maybe_delivered = d.maybe_delivered OR due.was = 'attempting',
    updated_at = $1
FROM due
WHERE d.message_id = due.message_id
RETURNING d.*
"""


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds the lease on, for attempt number ``attempt``."""

    message_id: UUID
    swv: str
    case_id: UUID
    channel: str
    recipient_role: str
    recipient_id: str
    template: str
    facts: dict[str, str]
    body: dict[str, Any] | None
    caused_by_event: UUID
    correlation_id: str
    attempt: int
    round_attempt: int
    maybe_delivered: bool

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Claimed:
        return cls(
            message_id=row["message_id"],
            swv=row["swv"],
            case_id=row["case_id"],
            channel=row["channel"],
            recipient_role=row["recipient_role"],
            recipient_id=row["recipient_id"],
            template=row["template"],
            facts=dict(row["facts"] or {}),
            body=row["body"],
            caused_by_event=row["caused_by_event"],
            correlation_id=row["correlation_id"],
            attempt=row["attempts"],
            round_attempt=row["round_attempts"],
            maybe_delivered=row["maybe_delivered"],
        )


async def enqueue(
    conn: asyncpg.Connection,
    swv: str,
    message: PlannedMessage,
    caused_by_event: UUID,
    correlation_id: str,
    now: datetime,
) -> bool:
    """Add ``message`` unless its id is known; True when it is new (schedule it then)."""
    inserted = await conn.fetchval(
        _ENQUEUE,
        message.message_id,
        swv,
        message.case_id,
        message.channel,
        message.role,
        message.recipient_id,
        message.template,
        message.facts,
        message.body,
        caused_by_event,
        correlation_id,
        now,
    )
    return inserted is not None


async def claim(pool: asyncpg.Pool, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due messages and mark them attempting, committed before any send.

    The committed mark is what lets a restarted worker know an attempt may have reached
    the recipient, so it is written before the first byte goes out.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_CLAIM, now, now + lease, limit)
    return [Claimed.from_row(r) for r in rows]
