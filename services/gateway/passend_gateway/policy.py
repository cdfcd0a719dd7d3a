"""What a municipality may see: the allow-list of event types and fields, and who names a region.

An allow-list, never a block-list: an event type or field added to the contracts later
reaches no municipality until it is added here on purpose. Required fields of a type
stay (the consumer kit validates against the published contract, which needs them);
optional fields a municipality doesn't need are dropped, and so is who acted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import RequestRouted
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import EscalatedToTeamNO
from passend_contracts.integration import MUNICIPALITY_FIELDS


@dataclass(frozen=True)
class Audience:
    """One kind of outside receiver: the event types it gets and, per type, the fields."""

    name: str
    fields: Mapping[str, frozenset[str]]


# R: what a municipality learns of its region's cases is the public contract's allow-list.
MUNICIPALITY = Audience(name="municipality", fields=MUNICIPALITY_FIELDS)

# The events that name the municipality of the case's pupil, and the field that holds it.
# R: an escalation goes to the Team NO of the pupil's municipality. The school's
# municipality (SchoolRegistered) is deliberately not used: a pupil may live elsewhere.
REGION_FIELDS: dict[str, str] = {EscalatedToTeamNO.event_type: "municipality"}
if "municipality" in RequestRouted.model_fields:  # when routing learns the pupil's municipality
    REGION_FIELDS[RequestRouted.event_type] = "municipality"


def case_of(payload: EventPayload) -> str | None:
    """The case an event is about, as its stream id; ``None`` for directory events."""
    case_id = getattr(payload, "case_id", None)
    return None if case_id is None else str(case_id)


def municipality_named(payload: EventPayload) -> str | None:
    """The pupil's municipality if this event names it, else ``None``."""
    field = REGION_FIELDS.get(payload.event_type)
    value = getattr(payload, field, None) if field else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        topics.region_key(value)
    except ValueError:
        return None  # a name no topic can carry: the case's events stay held
    return value


def minimise(event: CloudEvent, payload: EventPayload, audience: Audience) -> CloudEvent | None:
    """The event as ``audience`` may see it, or ``None`` when it may not see it at all.

    ``payload`` is the parsed (upcast) payload of ``event``: the result carries the newest
    version, so receivers never upcast. The id stays the source event's id, so receivers
    deduplicate redeliveries on it. The actor becomes the producing service; on whose
    behalf it acted is dropped.
    """
    fields = audience.fields.get(payload.event_type)
    if fields is None:
        return None
    data = payload.model_dump(mode="json", include=set(fields))
    return CloudEvent.model_validate(
        {
            **event.model_dump(),
            "type": payload.event_type,
            "data": data,
            "actor": event.source,
            "onbehalfof": None,
        }
    )
