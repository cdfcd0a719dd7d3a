"""Replaying a parked message, and a bounce: where each message stands, and what may happen now.

The state of a case stream in this service is the delivery status of each of its
messages, folded from the service's own events: scheduled and retried messages are
pending, a failure without a next attempt parks the message (``NotificationParked``
follows in the same transaction), a replay makes it pending again, and a sent message
stays sent. Only a parked message is replayed: one still on its way or already sent would
otherwise be sent once more than anyone asked for. A bounce (the recipient's mail system
reported, after accepting, that the message could not be delivered) is recorded for a sent
e-mail only, and parks it: the screens show it as not delivered, an operator may replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from uuid import UUID

from passend_backbone.commands import Decider, Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.notifications import (
    NotificationCancelled,
    NotificationFailed,
    NotificationParked,
    NotificationReplayed,
    NotificationScheduled,
    NotificationSent,
)

PENDING = "pending"
FAILED = "failed"
PARKED = "parked"
SENT = "sent"
CANCELLED = "cancelled"
BOUNCED = "bounced"  # reason code of a bounce


@dataclass(frozen=True)
class MessageStatus:
    """Where one message stands, and what a replay event needs to say about it."""

    case_id: UUID
    channel: str
    status: str


@dataclass(frozen=True)
class CaseMessages:
    """The messages of one case stream, by message id."""

    messages: Mapping[UUID, MessageStatus] = field(default_factory=lambda: MappingProxyType({}))

    def with_status(
        self, message_id: UUID, case_id: UUID, channel: str, status: str
    ) -> CaseMessages:
        known = self.messages.get(message_id)
        updated = (
            MessageStatus(case_id, channel, status)
            if known is None
            else replace(known, status=status)
        )
        return CaseMessages(MappingProxyType({**self.messages, message_id: updated}))


@dataclass(frozen=True)
class Replay:
    """An operator asks for a parked message to be sent again, with fresh attempts."""

    message_id: UUID
    requested_by: str


@dataclass(frozen=True)
class Bounce:
    """The recipient's mail system reported a sent e-mail undeliverable (attempt ``attempt``)."""

    message_id: UUID
    attempt: int
    reason: str


def evolve(state: CaseMessages, event: EventPayload) -> CaseMessages:
    """Apply one of this service's events to the case's message statuses."""
    match event:
        case NotificationScheduled():
            return state.with_status(event.message_id, event.case_id, event.channel, PENDING)
        case NotificationFailed():
            status = PENDING if event.next_attempt_at is not None else FAILED
            return state.with_status(event.message_id, event.case_id, event.channel, status)
        case NotificationParked():
            return state.with_status(event.message_id, event.case_id, event.channel, PARKED)
        case NotificationReplayed():
            return state.with_status(event.message_id, event.case_id, event.channel, PENDING)
        case NotificationSent():
            return state.with_status(event.message_id, event.case_id, event.channel, SENT)
        case NotificationCancelled():
            return state.with_status(event.message_id, event.case_id, event.channel, CANCELLED)
    return state


def decide(state: CaseMessages, command: Replay | Bounce, now: datetime) -> list[EventPayload]:
    """A replay or a bounce, decided on the case's messages."""
    if isinstance(command, Bounce):
        return decide_bounce(state, command, now)
    return decide_replay(state, command, now)


def decide_bounce(state: CaseMessages, command: Bounce, now: datetime) -> list[EventPayload]:
    """A bounce parks a sent e-mail; unknown: 404; not sent (yet): 409."""
    message = state.messages.get(command.message_id)
    if message is None:
        raise Refusal.not_found("bounce", "no such message")
    if message.channel != "email" or message.status != SENT:
        raise Refusal.conflict(
            "bounce", f"message is {message.status}: only a sent e-mail can bounce"
        )
    return [
        NotificationFailed(
            message_id=command.message_id,
            case_id=message.case_id,
            channel=message.channel,
            attempt=command.attempt,
            reason=command.reason,
            next_attempt_at=None,
            failed_at=now,
            reason_code=BOUNCED,
        ),
        NotificationParked(
            message_id=command.message_id,
            case_id=message.case_id,
            channel=message.channel,
            attempts=command.attempt,
            reason=command.reason,
            parked_at=now,
            reason_code=BOUNCED,
        ),
    ]


def decide_replay(state: CaseMessages, command: Replay, now: datetime) -> list[EventPayload]:
    """Replay ``command.message_id`` if it is parked; refused otherwise.

    Unknown: 404 (as a message of another SWV answers). Not parked: 409, saying where it
    stands, since replaying a message still on its way or already sent would send it twice.
    """
    message = state.messages.get(command.message_id)
    if message is None:
        raise Refusal.not_found("replay", "no such message")
    if message.status != PARKED:
        raise Refusal.conflict(
            "replay",
            f"message is {message.status}, not parked: only parked messages are replayed",
        )
    return [
        NotificationReplayed(
            message_id=command.message_id,
            case_id=message.case_id,
            channel=message.channel,
            requested_by=command.requested_by,
            replayed_at=now,
        )
    ]


REPLAY: Decider[CaseMessages, Replay | Bounce] = Decider(
    initial=CaseMessages(), evolve=evolve, decide=decide
)
