"""The delivery queue table: adding planned messages once, and claiming due ones for sending."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

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

# The advisory-lock key of a delivery loop's id (the first 64 bits of the UUID, signed):
# the loop holds it for as long as it runs (:func:`hold_ownership`), on a connection of
# its own, so its lock ends exactly when its process or its connection does.
OWNER_KEY_SQL = "('x' || substr(replace({column}::text, '-', ''), 1, 16))::bit(64)::bigint"


def owner_key(owner: UUID) -> int:
    """The same key as :data:`OWNER_KEY_SQL`, in Python."""
    return int.from_bytes(owner.bytes[:8], "big", signed=True)


# SKIP LOCKED: several loops (and replicas) share the queue without waiting on each other.
# A message 'attempting' belongs to its owner loop while that loop lives: it is taken over
# when the owner's advisory lock is free (its process died, its connection broke) or,
# should a live owner hang, when the lease ran out. The take-over may send again only if
# the earlier attempts left fewer than two possible copies (see worker.py).
_CLAIM = f"""
WITH due AS (
    SELECT message_id
    FROM deliveries
    WHERE (status = 'pending' AND due_at <= $1)
       OR (status = 'attempting' AND (
            lease_until <= $1 OR owner IS NULL
            OR pg_try_advisory_xact_lock({OWNER_KEY_SQL.format(column="owner")})))
    ORDER BY due_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries AS d
SET status = 'attempting',
    owner = $4,
    attempts = d.attempts + 1,
    round_attempts = d.round_attempts + 1,
    lease_until = $2,
    -- A webhook taken over mid-request may have arrived (its receiver dedupes on the id).
    maybe_delivered = d.maybe_delivered OR d.maybe_copies > 0
        OR (d.status = 'attempting' AND d.channel = 'webhook'),
    updated_at = $1
FROM due
WHERE d.message_id = due.message_id
RETURNING d.*
"""

# The attempt enters the SMTP data phase: from now on it may deliver a copy. Only the
# message's owner of this attempt marks, and only below two possible copies.
_MARK = """
UPDATE deliveries SET maybe_copies = maybe_copies + 1, content_sha256 = $4, updated_at = $5
WHERE message_id = $1 AND status = 'attempting' AND attempts = $2 AND owner = $3
  AND maybe_copies < 2
RETURNING maybe_copies
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
    owner: UUID | None = None
    # Earlier attempts that may each have delivered a copy (entered the data phase, outcome
    # unknown); 0 for a message nobody may have yet.
    maybe_copies: int = 0
    content_sha256: str | None = None

    @property
    def possible_duplicate(self) -> bool:
        """A copy sent now may be the second one."""
        return self.maybe_copies > 0

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
            owner=row["owner"],
            maybe_copies=row["maybe_copies"],
            content_sha256=row["content_sha256"],
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


async def claim(
    pool: asyncpg.Pool, now: datetime, lease: timedelta, limit: int, owner: UUID
) -> list[Claimed]:
    """Take up to ``limit`` due messages for loop ``owner``, committed before any send."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_CLAIM, now, now + lease, limit, owner)
    return [Claimed.from_row(r) for r in rows]


async def mark_data_phase(
    pool: asyncpg.Pool, message: Claimed, content_sha256: str, now: datetime
) -> bool:
    """Commit that this attempt enters the data phase; False: it may not (the message was
    taken over, or two copies may be out already), so nothing may be written."""
    async with pool.acquire() as conn:
        marked = await conn.fetchval(
            _MARK, message.message_id, message.attempt, message.owner, content_sha256, now
        )
    return marked is not None


@contextlib.asynccontextmanager
async def hold_ownership(pool: asyncpg.Pool) -> AsyncIterator[UUID]:
    """A new loop id, its advisory lock held on a connection of its own until the block ends.

    While the lock is held, nobody takes this loop's messages over before their lease
    ends; once the process dies the database drops the connection and the lock with it.
    """
    owner = uuid4()
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", owner_key(owner))
        try:
            yield owner
        finally:
            with contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock($1)", owner_key(owner))
