"""Thin notifications in the style of the ZGW Notificaties API: "case X changed, fetch it".

A thin notification carries no case content, only where to fetch it: the receiver calls
``hoofd_object`` (or ``resource_url``) on the owning service's API with its own token,
so what it gets is what that API's authorisation lets it see. The Kafka record's key is
the case id; its ``notification-id`` header is the id of the event that caused it, the
same on every redelivery, to deduplicate on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from passend_consumerkit.records import InvalidMessage, Position, invalid, position_of

CHANNEL = "passend.cases"
ID_HEADER = "notification-id"
CONTENT_TYPE = "application/json"

Action = Literal["create", "update", "destroy"]


class ThinNotification(BaseModel):
    """One notification, its JSON names as in the ZGW Notificaties API."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    kanaal: str = Field(description="The channel: always passend.cases")
    hoofd_object: str = Field(alias="hoofdObject", description="URL of the case")
    resource: str = Field(description="What changed, e.g. escalation, team_no_decision")
    resource_url: str = Field(alias="resourceUrl", description="URL of what changed")
    actie: Action = Field(description="create, update or destroy")
    aanmaakdatum: datetime = Field(description="When it changed (the event's time)")
    kenmerken: dict[str, str] = Field(
        default_factory=dict, description="Attributes to filter on, e.g. swv"
    )

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


@dataclass(frozen=True)
class ReceivedThin:
    """One valid thin notification and the id to deduplicate on."""

    id: UUID
    notification: ThinNotification
    position: Position


def kafka_record(
    notification_id: UUID, case_id: str, notification: ThinNotification
) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """(key, headers, value) of a thin notification on its topic."""
    headers = [
        (ID_HEADER, str(notification_id).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    return case_id.encode(), headers, notification.to_json()


def parse_thin_record(record: Any) -> ReceivedThin | InvalidMessage:
    """A consumed record as a thin notification, or an invalid message."""
    headers = dict(record.headers or ())
    try:
        notification_id = UUID(bytes(headers[ID_HEADER]).decode())
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        return invalid(record, "malformed", ValueError(f"no valid {ID_HEADER} header: {exc!r}"))
    if record.value is None:
        return invalid(record, "malformed", ValueError("notification body is missing"))
    try:
        notification = ThinNotification.model_validate_json(record.value)
    except ValidationError as exc:
        return invalid(record, "invalid", exc)
    return ReceivedThin(notification_id, notification, position_of(record))
