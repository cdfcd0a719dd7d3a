"""Every event type by its versioned name, upcasting of old versions, and parsing bus events."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from passend_contracts.envelope import CloudEvent
from passend_contracts.events import assignment, intake, notifications, trajectory
from passend_contracts.events.base import EventPayload

# The modules holding every event payload, one per producing service.
EVENT_MODULES = (intake, assignment, trajectory, notifications)


def _collect() -> dict[str, type[EventPayload]]:
    """Every payload class defined in :data:`EVENT_MODULES`, by its versioned type name.

    Collected rather than listed, so defining an event in its module is all it takes.
    """
    found: dict[str, type[EventPayload]] = {}
    for module in EVENT_MODULES:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, EventPayload)
                and value.__module__ == module.__name__
                # A class naming no type of its own is a shared base, not an event.
                and "event_type" in vars(value)
            ):
                other = found.setdefault(value.event_type, value)
                if other is not value:
                    raise TypeError(
                        f"{value.__qualname__} and {other.__qualname__} both claim event type "
                        f"{value.event_type!r}: give the newer one the next version"
                    )
    return found


EVENT_TYPES: dict[str, type[EventPayload]] = _collect()

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# Old event type -> (the next version's type, a pure function turning old data into new data).
# A breaking change is a new version published alongside the old one; the old class stays in
# EVENT_TYPES (marked ``deprecated``) so its schema stays published, and its events, which are
# never rewritten, are upcast here on read. Chains (v1 -> v2 -> v3) are followed to the end.
UPCASTERS: dict[str, tuple[str, Upcaster]] = {}

# nl.passend.<service>.<Name>.v<N>
EVENT_TYPE_PATTERN = re.compile(r"^nl\.passend\.[a-z]+\.[A-Z][A-Za-z0-9]*\.v[1-9][0-9]*$")


class UnknownEventType(ValueError):
    """An event type this version of the contracts does not know."""


def upcast(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The newest version of an event: follows :data:`UPCASTERS` from ``event_type`` on.

    Returns the input unchanged when no upcaster is registered for ``event_type``; raises
    ``ValueError`` when the registered upcasters form a cycle.
    """
    seen = {event_type}
    while event_type in UPCASTERS:
        event_type, step = UPCASTERS[event_type]
        if event_type in seen:
            raise ValueError(f"upcasters form a cycle through {event_type!r}: fix UPCASTERS")
        seen.add(event_type)
        data = step(data)
    return event_type, data


def parse_data(event_type: str, data: dict[str, Any]) -> EventPayload:
    """The typed payload of stored or consumed ``data`` of ``event_type``, upcast to its newest
    version; fields added by newer producers, at any depth, are ignored.

    Raises :class:`UnknownEventType` for a type not registered, ``ValueError`` (pydantic's
    ``ValidationError``) for data that does not fit its type.
    """
    newest, upcast_data = upcast(event_type, data)
    cls = EVENT_TYPES.get(newest)
    if cls is None:
        raise UnknownEventType(
            f"unknown event type {newest!r}"
            + (f" (upcast from {event_type!r})" if newest != event_type else "")
            + ": the producer is newer than these contracts; upgrade passend-contracts"
        )
    return cls.model_validate(upcast_data, extra="ignore")


def parse(event: CloudEvent) -> EventPayload:
    """The typed payload of ``event``; old versions are upcast, newer fields ignored."""
    return parse_data(event.type, event.data)
