"""Deciding where one event goes: its case's region, held until that is known (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_gateway.policy import Audience, case_of, minimise, municipality_named


@dataclass(frozen=True)
class Route:
    """The region a case's events go to, and the event time that set it."""

    region: str  # topics.region_key of the municipality
    municipality: str
    set_by_event: str
    set_at: datetime


@dataclass(frozen=True)
class Decision:
    """What to do with one event: store a route, publish, hold, release the held ones."""

    route: Route | None  # the case's route after this event (stored when it changed)
    publish: tuple[tuple[str, CloudEvent], ...] = ()  # (region, event); released held first
    hold: CloudEvent | None = None
    released: bool = False  # the held events are in ``publish``: delete them


def decide(
    current: Route | None,
    held: Sequence[CloudEvent],
    event: CloudEvent,
    payload: EventPayload,
    audience: Audience,
) -> Decision:
    """Route ``event`` for ``audience``; never to a region the case doesn't belong to.

    An event naming the pupil's municipality goes to that municipality and sets the
    case's route, unless a later event already named another (a pupil who moved is
    followed, whatever order the topics arrive in). Other events go to the case's route.
    Without a route, what the audience may see is held, and released once one is known.
    """
    if case_of(payload) is None:
        return Decision(route=current)
    shown = minimise(event, payload, audience)
    route = current
    own_region = None if current is None else current.region
    municipality = municipality_named(payload)
    if municipality is not None:
        named = Route(topics.region_key(municipality), municipality, str(event.id), event.time)
        own_region = named.region
        if current is None or current.set_at <= event.time:
            route = named
    if route is None or own_region is None:
        return Decision(route=None, hold=shown)
    released = tuple((route.region, e) for e in held)
    own = ((own_region, shown),) if shown is not None else ()
    return Decision(route=route, publish=(*released, *own), released=bool(held))
