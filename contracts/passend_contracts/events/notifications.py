"""Events the notifications service publishes: who is to be told what, and delivery."""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from passend_contracts import topics
from passend_contracts.events.base import EventPayload

_CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"
_MESSAGE = "53a1ed62-5be2-5a18-94f5-058c18478e6b"


class NotificationScheduled(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationScheduled.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "Someone is to be told about an event; the message id is derived from the event and "
        "the recipient, so it is scheduled once however often the event arrives."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "message_id": _MESSAGE,
        "case_id": _CASE,
        "recipient_role": "ib",
        "recipient_id": "ib-7731",
        "template": "zaak_geclaimd",
        "caused_by_event": "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
        "scheduled_at": "2026-09-15T10:00:01+00:00",
        "channel": "email",
        "rule": "W26",
    }

    message_id: UUID
    case_id: UUID
    recipient_role: str
    recipient_id: str
    template: str
    caused_by_event: UUID
    scheduled_at: datetime
    channel: str = Field(
        default="email", description="email, or webhook (recipient = subscription)"
    )
    rule: str | None = Field(
        default=None, description="Tag of the rule that says this recipient is told, e.g. W26"
    )


class NotificationSent(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationSent.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "The receiving mail server or webhook endpoint accepted the message: the recipient "
        "was told. Carries no address or text, only a hash of what was sent."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "message_id": _MESSAGE,
        "case_id": _CASE,
        "channel": "email",
        "recipient_role": "ib",
        "recipient_id": "ib-7731",
        "attempt": 1,
        "possible_duplicate": False,
        "content_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "sent_at": "2026-09-15T10:00:02+00:00",
    }

    message_id: UUID
    case_id: UUID
    channel: str
    recipient_role: str
    recipient_id: str
    attempt: int = Field(ge=1)
    possible_duplicate: bool = Field(
        default=False,
        description=(
            "An earlier attempt's outcome was unknown (the service stopped mid-send), so the "
            "recipient may have this message twice, with the same Message-ID / delivery id"
        ),
    )
    content_sha256: str = Field(description="SHA-256 of the bytes delivered, for auditors")
    sent_at: datetime
    confirmed: bool = Field(
        default=True,
        description=(
            "False: the server's acceptance was never seen, because the service stopped twice "
            "while handing this message over. Each of those two attempts may have delivered "
            "it, so it is not sent a third time (at most two copies ever go out)"
        ),
    )


class NotificationFailed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationFailed.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "One delivery attempt failed; it is retried at ``next_attempt_at``, or parked when "
        "that is empty."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "message_id": _MESSAGE,
        "case_id": _CASE,
        "channel": "webhook",
        "attempt": 1,
        "reason": "endpoint answered HTTP 500",
        "next_attempt_at": "2026-09-15T10:00:47+00:00",
        "failed_at": "2026-09-15T10:00:02+00:00",
    }

    message_id: UUID
    case_id: UUID
    channel: str
    attempt: int = Field(ge=1)
    reason: str
    next_attempt_at: datetime | None
    failed_at: datetime
    reason_code: str | None = Field(
        default=None,
        description=(
            "What went wrong, as a code a screen can explain: no_address, refused, bounced, "
            "unreachable, no_recipient, template"
        ),
    )


class NotificationParked(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationParked.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "Delivery stopped after the last attempt or a permanent failure; an operator can "
        "replay it once the reason is fixed."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "message_id": _MESSAGE,
        "case_id": _CASE,
        "channel": "webhook",
        "attempts": 8,
        "reason": "endpoint answered HTTP 503",
        "parked_at": "2026-09-15T14:12:40+00:00",
    }

    message_id: UUID
    case_id: UUID
    channel: str
    attempts: int = Field(ge=1)
    reason: str
    parked_at: datetime
    reason_code: str | None = Field(
        default=None, description="The last failure's code (see NotificationFailed)"
    )


class NotificationReplayed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationReplayed.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "An operator sent a parked message back into delivery, with a fresh round of attempts."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "message_id": _MESSAGE,
        "case_id": _CASE,
        "channel": "webhook",
        "requested_by": "operator-12",
        "replayed_at": "2026-09-16T08:00:00+00:00",
    }

    message_id: UUID
    case_id: UUID
    channel: str
    requested_by: str
    replayed_at: datetime


class NotificationCancelled(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationCancelled.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "A message was not sent because there is nothing to tell any more: the personal link "
        "it carries was used, replaced or expired, or the pupil was erased. Nothing went out."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "message_id": _MESSAGE,
        "case_id": _CASE,
        "channel": "email",
        "reason_code": "link_used",
        "cancelled_at": "2026-09-15T10:00:02+00:00",
    }

    message_id: UUID
    case_id: UUID
    channel: str
    reason_code: str = Field(
        description="link_used, link_replaced, link_expired, erased, or handed_to_parents "
        "(a message to a case's parents became one message per parent)",
        min_length=1,
    )
    cancelled_at: datetime
