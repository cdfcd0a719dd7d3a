"""The trajectory's own event types by name, to read its stream back into payloads."""

from __future__ import annotations

from typing import Any

from passend_contracts.events import trajectory
from passend_contracts.events.base import EventPayload

OWN_EVENTS: dict[str, type[EventPayload]] = {
    value.event_type: value
    for value in vars(trajectory).values()
    if isinstance(value, type)
    and issubclass(value, EventPayload)
    and value.__module__ == trajectory.__name__
}


def parse_own(event_type: str, data: dict[str, Any]) -> EventPayload | None:
    """The payload of a stored trajectory event, or None for a type this version doesn't know
    (a newer version's event counts as a version and changes nothing here)."""
    cls = OWN_EVENTS.get(event_type)
    return cls.model_validate(data, extra="ignore") if cls is not None else None
