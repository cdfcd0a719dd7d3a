"""Read model of messages per case: who is to be told, and how delivery went."""

from __future__ import annotations

import asyncpg

from passend_backbone import tenancy
from passend_contracts import topics as contract_topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.notifications import (
    NotificationCancelled,
    NotificationFailed,
    NotificationParked,
    NotificationReplayed,
    NotificationScheduled,
    NotificationSent,
)

_SETUP = """
CREATE TABLE messages (
    message_id          uuid        PRIMARY KEY,
    swv                 text        NOT NULL,
    case_id             uuid        NOT NULL,
    channel             text,
    recipient_role      text,
    recipient_id        text,
    template            text,
    caused_by_event     uuid,
    status              text        NOT NULL,
    attempts            integer     NOT NULL DEFAULT 0,
    possible_duplicate  boolean     NOT NULL DEFAULT false,
    last_reason         text,
    -- What went wrong as a code the screens explain (no_address, refused, bounced, ...).
    reason_code         text,
    next_attempt_at     timestamptz,
    scheduled_at        timestamptz,
    sent_at             timestamptz,
    -- When the current status was reached (the event's time).
    status_at           timestamptz,
    -- Stream version of the last status change applied; an older event can't undo it.
    status_version      integer     NOT NULL DEFAULT 0
);
CREATE INDEX messages_case ON messages (swv, case_id);
"""

# One upsert per event kind; the row may not exist yet only if the bus reordered, which
# one case's stream (one partition) does not, but tolerating it costs nothing.
_STATUS = """
INSERT INTO messages (message_id, swv, case_id, channel, status, attempts, possible_duplicate,
                      last_reason, next_attempt_at, sent_at, status_version, reason_code,
                      status_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (message_id) DO UPDATE SET
    status = EXCLUDED.status,
    attempts = greatest(messages.attempts, EXCLUDED.attempts),
    possible_duplicate = messages.possible_duplicate OR EXCLUDED.possible_duplicate,
    last_reason = coalesce(EXCLUDED.last_reason, messages.last_reason),
    -- The code of the current state: a later success or replay clears it.
    reason_code = EXCLUDED.reason_code,
    status_at = EXCLUDED.status_at,
    next_attempt_at = EXCLUDED.next_attempt_at,
    sent_at = coalesce(EXCLUDED.sent_at, messages.sent_at),
    status_version = EXCLUDED.status_version
WHERE messages.status_version < EXCLUDED.status_version
"""

_SCHEDULED = """
INSERT INTO messages (message_id, swv, case_id, channel, recipient_role, recipient_id, template,
                      caused_by_event, status, scheduled_at, status_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled', $9, $10)
ON CONFLICT (message_id) DO UPDATE SET
    channel = EXCLUDED.channel,
    recipient_role = EXCLUDED.recipient_role,
    recipient_id = EXCLUDED.recipient_id,
    template = EXCLUDED.template,
    caused_by_event = EXCLUDED.caused_by_event,
    scheduled_at = EXCLUDED.scheduled_at
"""


class CaseMessages:
    """Projection ``case_messages``: one row per message, for ``GET /cases/{id}/notifications``."""

    name = "case_messages"

    def __init__(self, topic: str = contract_topics.NOTIFICATIONS) -> None:
        self.topics: tuple[str, ...] = (topic,)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_SETUP)
        await tenancy.protect(conn, "messages")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        version = event.streamversion
        match payload:
            case NotificationScheduled():
                await conn.execute(
                    _SCHEDULED,
                    payload.message_id,
                    event.swv,
                    payload.case_id,
                    payload.channel,
                    payload.recipient_role,
                    payload.recipient_id,
                    payload.template,
                    payload.caused_by_event,
                    payload.scheduled_at,
                    version,
                )
            case NotificationSent():
                await self._status(
                    conn, event, payload.message_id, payload.case_id, payload.channel, "sent",
                    attempts=payload.attempt, duplicate=payload.possible_duplicate,
                    sent_at=payload.sent_at,
                )  # fmt: skip
            case NotificationFailed():
                status = "retrying" if payload.next_attempt_at else "failed"
                await self._status(
                    conn, event, payload.message_id, payload.case_id, payload.channel, status,
                    attempts=payload.attempt, reason=payload.reason,
                    next_at=payload.next_attempt_at, code=payload.reason_code,
                )  # fmt: skip
            case NotificationParked():
                await self._status(
                    conn, event, payload.message_id, payload.case_id, payload.channel, "parked",
                    attempts=payload.attempts, reason=payload.reason, code=payload.reason_code,
                )  # fmt: skip
            case NotificationCancelled():
                await self._status(
                    conn, event, payload.message_id, payload.case_id, payload.channel,
                    "cancelled", code=payload.reason_code,
                )  # fmt: skip
            case NotificationReplayed():
                await self._status(
                    conn, event, payload.message_id, payload.case_id, payload.channel, "replayed"
                )

    async def _status(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        message_id: object,
        case_id: object,
        channel: str,
        status: str,
        *,
        attempts: int = 0,
        duplicate: bool = False,
        reason: str | None = None,
        next_at: object = None,
        sent_at: object = None,
        code: str | None = None,
    ) -> None:
        await conn.execute(
            _STATUS,
            message_id,
            event.swv,
            case_id,
            channel,
            status,
            attempts,
            duplicate,
            reason,
            next_at,
            sent_at,
            event.streamversion,
            code,
            event.time,
        )
