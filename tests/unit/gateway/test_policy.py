"""The municipality allow-list keeps only listed types and fields; what it keeps still validates."""

from __future__ import annotations

from uuid import uuid4

import pytest

from passend_contracts import registry
from passend_contracts.events.trajectory import EscalatedToTeamNO
from passend_gateway.policy import MUNICIPALITY, REGION_FIELDS, minimise, municipality_named
from tests.unit.gateway.factory import claimed, closed, decided, envelope, escalated, submitted


@pytest.mark.parametrize("event_type", sorted(MUNICIPALITY.fields))
def test_allow_list_names_existing_fields_and_keeps_every_required_one(event_type: str) -> None:
    cls = registry.EVENT_TYPES[event_type]
    kept = MUNICIPALITY.fields[event_type]
    assert kept <= set(cls.model_fields), "an allow-listed field the contract doesn't have"
    required = {name for name, f in cls.model_fields.items() if f.is_required()}
    # The consumer kit validates against the published contract: dropping a required field
    # would make every such event invalid for the municipality.
    assert required <= kept
    assert "case_id" in kept


def test_allow_listed_types_are_the_newest_versions() -> None:
    # minimise() sees upcast payloads: an old version listed here would never match.
    for event_type in MUNICIPALITY.fields:
        assert event_type not in registry.UPCASTERS


def test_escalation_is_minimised_keeping_its_id_and_dropping_who_acted() -> None:
    payload = escalated(uuid4(), "GM0622")
    event = envelope(payload)
    shown = minimise(event, payload, MUNICIPALITY)
    assert shown is not None
    assert (shown.id, shown.type, shown.subject, shown.swv) == (
        event.id,
        event.type,
        event.subject,
        event.swv,
    )
    assert "escalated_by" not in shown.data
    assert shown.data["municipality"] == "GM0622"
    assert shown.actor == "/passend/trajectory"
    assert shown.onbehalfof is None
    reparsed = registry.parse(shown)
    assert reparsed == payload.model_copy(update={"escalated_by": None})


def test_request_and_claim_never_reach_a_municipality() -> None:
    for payload in (submitted(uuid4()), claimed(uuid4())):
        assert minimise(envelope(payload), payload, MUNICIPALITY) is None


def test_decision_and_closing_are_shown_and_still_parse() -> None:
    case = uuid4()
    for payload in (decided(case, uuid4()), closed(case)):
        shown = minimise(envelope(payload), payload, MUNICIPALITY)
        assert shown is not None
        assert registry.parse(shown) == payload


def test_only_region_naming_events_name_a_municipality() -> None:
    assert EscalatedToTeamNO.event_type in REGION_FIELDS
    assert municipality_named(escalated(uuid4(), "GM0622")) == "GM0622"
    assert municipality_named(closed(uuid4())) is None
    # A name no topic can carry is no region: its case's events stay held.
    assert municipality_named(escalated(uuid4(), "???")) is None
