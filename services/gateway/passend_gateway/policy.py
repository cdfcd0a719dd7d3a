"""What a municipality may see: the allow-list of event types and fields, and who names a region.

An allow-list, never a block-list: an event type or field added to the contracts later
reaches no municipality until it is added here on purpose. Required fields of a type
stay (the consumer kit validates against the published contract, which needs them);
optional fields a municipality doesn't need are dropped, and so is who acted.

The allow-list, the minimisation and the reading of the pupil's municipality are the
public contract's (:mod:`passend_contracts.integration`): the notifications service's
webhooks, the other integration channel, use the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from passend_contracts import integration
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.integration import MUNICIPALITY_FIELDS, REGION_FIELDS, municipality_named

__all__ = ["MUNICIPALITY", "REGION_FIELDS", "Audience", "case_of", "minimise", "municipality_named"]


@dataclass(frozen=True)
class Audience:
    """One kind of outside receiver: the event types it gets and, per type, the fields."""

    name: str
    fields: Mapping[str, frozenset[str]]


# R: what a municipality learns of its region's cases is the public contract's allow-list.
MUNICIPALITY = Audience(name="municipality", fields=MUNICIPALITY_FIELDS)


def case_of(payload: EventPayload) -> str | None:
    """The case an event is about, as its stream id; ``None`` for directory events."""
    case_id = getattr(payload, "case_id", None)
    return None if case_id is None else str(case_id)


def minimise(event: CloudEvent, payload: EventPayload, audience: Audience) -> CloudEvent | None:
    """The event as ``audience`` may see it, or ``None`` when it may not see it at all.

    The contract's one minimisation (:func:`passend_contracts.integration.minimise`),
    which the notifications service's webhooks use too, with the audience's allow-list.
    """
    return integration.minimise(event, payload, audience.fields)
