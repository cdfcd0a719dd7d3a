"""Every event type by its versioned name, and parsing a bus event into its payload."""

from __future__ import annotations

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed, RequestRouted
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentRefused,
    ConsentRequested,
    ConsentWithdrawn,
    RequestSubmitted,
)
from passend_contracts.events.notifications import NotificationScheduled
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    EvaluationRecorded,
    TrajectoryOpened,
)

EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.event_type: cls
    for cls in (
        RequestSubmitted,
        ConsentRequested,
        ConsentConfirmed,
        ConsentRefused,
        ConsentWithdrawn,
        RequestRouted,
        CaseClaimed,
        TrajectoryOpened,
        EvaluationRecorded,
        EscalatedToTeamNO,
        NotificationScheduled,
    )
}


class UnknownEventType(ValueError):
    """An event type this version of the contracts does not know."""


def parse(event: CloudEvent) -> EventPayload:
    """The typed payload of ``event``; fields added by newer producers are ignored."""
    cls = EVENT_TYPES.get(event.type)
    if cls is None:
        raise UnknownEventType(f"unknown event type {event.type!r}")
    known = {k: v for k, v in event.data.items() if k in cls.model_fields}
    return cls.model_validate(known)
