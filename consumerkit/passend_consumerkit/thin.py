"""Thin notifications in the style of the ZGW Notificaties API: "case X changed, fetch it".

A thin notification carries no case content, only where to fetch it: the receiver calls
``hoofd_object`` (or ``resource_url``) on the owning service's API with its own token,
so what it gets is what that API's authorisation lets it see. The Kafka record's key is
the case id; its ``notification-id`` header is the id of the event that caused it, the
same on every redelivery, to deduplicate on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from passend_consumerkit.records import InvalidMessage, Position, invalid, position_of
from passend_contracts.integration import (
    THIN_CHANNEL,
    THIN_CONTENT_TYPE,
    THIN_ID_HEADER,
    Action,
    ThinNotification,
)

# The notification's shape is the public contract's (ZGW Notificaties, on purpose).
CHANNEL = THIN_CHANNEL
ID_HEADER = THIN_ID_HEADER
CONTENT_TYPE = THIN_CONTENT_TYPE

__all__ = ["CHANNEL", "ID_HEADER", "Action", "ReceivedThin", "ThinNotification", "kafka_record"]


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
