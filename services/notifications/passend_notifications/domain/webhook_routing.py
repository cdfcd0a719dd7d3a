"""Which municipality's subscribers get a case's event: as the gateway routes its topics (pure).

Webhooks are an integration channel like ``passend.integration.<municipality>``: the
same allow-list and minimisation (:func:`passend_contracts.integration.minimise`), the
same reading of the pupil's municipality (:func:`passend_contracts.integration.
municipality_named`) and the same routing: an event naming the municipality goes to
that municipality and sets the case's route unless a later event already named another
(a pupil who moved is followed, whatever order the topics arrive in); other events go to
the case's route; without one they are held and released once it is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from passend_contracts import topics
from passend_contracts.envelope import CloudEvent


@dataclass(frozen=True)
class WebhookRoute:
    """The municipality a case's deliveries go to (``region`` is its topic key)."""

    region: str
    municipality: str
    set_at: datetime


@dataclass(frozen=True)
class Routed:
    """What to do with one minimised event: store a route, deliver, hold, release."""

    route: WebhookRoute | None  # the case's route after this event
    deliver: tuple[tuple[str, CloudEvent], ...] = ()  # (region, event); released held first
    hold: CloudEvent | None = None
    released: bool = False  # the held events are in ``deliver``: delete them


def route(
    current: WebhookRoute | None,
    held: Sequence[CloudEvent],
    shown: CloudEvent | None,
    municipality: str | None,
    at: datetime,
) -> Routed:
    """Route ``shown`` (the event as municipalities may see it, None: not at all).

    ``municipality`` is the pupil's municipality if the event names it, ``at`` the
    event's time (an event not on the allow-list may still name it). Never to a
    municipality the case doesn't belong to: an event is delivered to its own route, and
    held events to the route that released them.
    """
    new_route = current
    own_region = None if current is None else current.region
    if municipality is not None:
        named = WebhookRoute(topics.region_key(municipality), municipality, at)
        own_region = named.region
        if current is None or current.set_at <= at:
            new_route = named
    if new_route is None or own_region is None:
        return Routed(route=None, hold=shown)
    released = tuple((new_route.region, e) for e in held)
    own = ((own_region, shown),) if shown is not None else ()
    return Routed(route=new_route, deliver=(*released, *own), released=bool(held))
