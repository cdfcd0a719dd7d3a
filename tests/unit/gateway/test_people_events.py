"""People of an SWV's directory never reach an integration topic: names and addresses stay home."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from passend_contracts import registry, topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered
from passend_contracts.events.base import EventPayload
from passend_gateway.policy import MUNICIPALITY, case_of, minimise
from passend_gateway.routing import Route, decide

SWV = "swv-waterweg"
AT = datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
PEOPLE: list[EventPayload] = [
    PersonRegistered(
        swv_id=SWV,
        person_id="ib-marieke",
        display_name="Marieke de Vries",
        email="marieke.devries@waterweg.passend.test",
        roles=["ib"],
        school_id="brin-11aa",
        registered_at=AT,
    ),
    PersonDeactivated(
        swv_id=SWV, person_id="ib-marieke", reason="andere school", deactivated_at=AT
    ),
]


def _envelope(payload: EventPayload) -> CloudEvent:
    """As assignment's relay publishes a directory event: the directory stream as subject."""
    return CloudEvent(
        id=uuid4(),
        source="/passend/assignment",
        type=payload.event_type,
        subject=f"directory:{SWV}",
        time=AT,
        swv=SWV,
        correlationid=str(uuid4()),
        causationid=str(uuid4()),
        actor="beheer-linda",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


@pytest.mark.parametrize("payload", PEOPLE, ids=lambda p: p.event_type)
def test_people_events_are_neither_published_nor_held(payload: EventPayload) -> None:
    event = _envelope(payload)
    assert minimise(event, payload, MUNICIPALITY) is None
    assert case_of(payload) is None
    route = Route(topics.region_key("GM0622"), "GM0622", str(uuid4()), AT)
    for current in (None, route):
        decision = decide(current, [], event, payload, MUNICIPALITY)
        assert (decision.publish, decision.hold, decision.released) == ((), None, False)


def test_no_directory_event_is_on_the_municipality_allow_list() -> None:
    # Directory events carry no case; people are staff of the SWV, not a municipality's.
    for event_type in MUNICIPALITY.fields:
        assert "case_id" in registry.EVENT_TYPES[event_type].model_fields
    assert not {p.event_type for p in PEOPLE} & set(MUNICIPALITY.fields)
