"""Routing sends a case's events only to its region, holds them until it is known, loses none."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_gateway.policy import MUNICIPALITY, case_of, minimise
from passend_gateway.routing import Route, decide
from tests.unit.gateway.factory import (
    claimed,
    closed,
    decided,
    envelope,
    escalated,
    later,
    submitted,
    youth_care,
)

Published = dict[str, list[CloudEvent]]


class Gateway:
    """The reactor's bookkeeping in memory: routes and held events per case."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.held: dict[str, list[CloudEvent]] = defaultdict(list)
        self.published: Published = defaultdict(list)

    def handle(self, event: CloudEvent, payload: EventPayload) -> None:
        case = case_of(payload)
        assert case is not None
        decision = decide(self.routes.get(case), self.held[case], event, payload, MUNICIPALITY)
        if decision.route is not None:
            self.routes[case] = decision.route
        if decision.released:
            self.held[case] = []
        if decision.hold is not None:
            self.held[case].append(decision.hold)
        for region, shown in decision.publish:
            self.published[region].append(shown)


def case_events(case_id: UUID, municipality: str | None) -> list[tuple[CloudEvent, EventPayload]]:
    """A case's life; escalated to ``municipality`` halfway, or never when it is None."""
    payloads: list[EventPayload] = [
        submitted(case_id, later(0)),
        claimed(case_id, later(1)),
        youth_care(case_id, later(2)),
    ]
    if municipality is not None:
        escalation = escalated(case_id, municipality, later(3))
        payloads += [escalation, decided(case_id, escalation.escalation_id, later(4))]
    payloads.append(closed(case_id, later(5)))
    return [(envelope(p, at=later(i), version=i + 1), p) for i, p in enumerate(payloads)]


def test_events_before_the_escalation_are_held_then_released_in_order() -> None:
    case = uuid4()
    gateway = Gateway()
    events = case_events(case, "GM0622")
    for event, payload in events[:3]:
        gateway.handle(event, payload)
    assert gateway.published == {}
    assert [e.type for e in gateway.held[str(case)]] == [youth_care(case).event_type]
    for event, payload in events[3:]:
        gateway.handle(event, payload)
    assert gateway.held[str(case)] == []
    assert set(gateway.published) == {"gm0622"}
    types = [e.type.split(".")[3] for e in gateway.published["gm0622"]]
    assert types == [
        "YouthCareNoted",
        "EscalatedToTeamNO",
        "TeamNODecisionRecorded",
        "TrajectoryClosed",
    ]


def test_a_case_never_escalated_publishes_nothing() -> None:
    gateway = Gateway()
    for event, payload in case_events(uuid4(), None):
        gateway.handle(event, payload)
    assert gateway.published == {}


def test_a_pupil_who_moved_is_followed_by_the_later_escalation_in_any_order() -> None:
    case = uuid4()
    first = escalated(case, "GM0606", later(10))  # Schiedam
    second = escalated(case, "GM0622", later(20))  # Vlaardingen
    after = closed(case, later(30))
    for order in ([first, second, after], [second, first, after]):
        gateway = Gateway()
        for payload in order:
            gateway.handle(envelope(payload, at=payload_time(payload)), payload)
        # Each escalation goes to the municipality it names; what follows, to the later one.
        assert [e.type.split(".")[3] for e in gateway.published["gm0622"]][-1] == (
            "TrajectoryClosed"
        )
        assert len(gateway.published["gm0606"]) == 1
        assert gateway.published["gm0606"][0].data["municipality"] == "GM0606"


def payload_time(payload: EventPayload) -> datetime:
    for name in ("escalated_at", "closed_at"):
        value = getattr(payload, name, None)
        if isinstance(value, datetime):
            return value
    raise AssertionError(payload)


MUNICIPALITIES = ["GM0622", "GM0606", "GM0556", None]


@settings(max_examples=60, deadline=None)
@given(
    regions=st.lists(st.sampled_from(MUNICIPALITIES), min_size=1, max_size=5),
    data=st.data(),
)
def test_any_interleaving_keeps_every_region_to_its_own_cases(
    regions: list[str | None], data: st.DataObject
) -> None:
    cases = [(uuid4(), municipality) for municipality in regions]
    streams = {case: case_events(case, municipality) for case, municipality in cases}
    # Any interleaving of the cases; within a case, too, since its events come from
    # several topics whose relative order Kafka doesn't keep.
    everything = [item for stream in streams.values() for item in stream]
    order = data.draw(st.permutations(everything))
    gateway = Gateway()
    for event, payload in order:
        gateway.handle(event, payload)

    region_of = {str(case): m and topics.region_key(m) for case, m in cases}
    for region, published in gateway.published.items():
        for shown in published:
            assert region_of[shown.subject] == region, "an event reached another region"
    for case, municipality in cases:
        allowed = {e.id for e, p in streams[case] if minimise(e, p, MUNICIPALITY) is not None}
        if municipality is None:
            assert {e.id for e in gateway.held[str(case)]} == allowed
            continue
        sent = [
            e.id
            for e in gateway.published[topics.region_key(municipality)]
            if e.subject == str(case)
        ]
        assert sorted(sent) == sorted(allowed), "lost or doubled"
        assert gateway.held[str(case)] == []
