"""Events the notifications service publishes: who is to be told what, and delivery."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from passend_contracts import topics
from passend_contracts.events.base import EventPayload


class NotificationScheduled(EventPayload):
    event_type: ClassVar[str] = "nl.passend.notifications.NotificationScheduled.v1"
    topic: ClassVar[str] = topics.NOTIFICATIONS
    meaning: ClassVar[str] = (
        "Someone is to be told about an event; the message id is derived from the event and "
        "the recipient, so it is scheduled once however often the event arrives."
    )

    message_id: UUID
    case_id: UUID
    recipient_role: str
    recipient_id: str
    template: str
    caused_by_event: UUID
    scheduled_at: datetime
