"""Webhooks route like the gateway's topics: a case's events reach its own municipality only,
minimised; events before the municipality is known are held and released with it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    StagnationReason,
    TrajectoryClosed,
    YouthCareNoted,
)
from passend_contracts.integration import minimise, municipality_named
from passend_notifications.domain.webhook_routing import WebhookRoute, route

from .factories import NOW, bus_event

CASE = uuid.uuid4()


def escalated(municipality: str, *, draft: str = "Overbrugging") -> EscalatedToTeamNO:
    return EscalatedToTeamNO(
        case_id=CASE,
        municipality=municipality,
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan=draft,
        escalated_at=NOW,
        escalated_by="w-1",
    )


def test_r_an_escalation_goes_to_its_municipality_minimised() -> None:
    payload = escalated("GM0606")
    event = bus_event(payload)
    shown = minimise(event, payload)
    assert shown is not None
    routed = route(None, [], shown, municipality_named(payload), event.time)
    assert routed.route == WebhookRoute("gm0606", "GM0606", event.time)
    [(region, delivered)] = routed.deliver
    assert region == "gm0606"
    assert "escalated_by" not in delivered.data, "who acted is not on the allow-list"
    assert delivered.actor == event.source and delivered.onbehalfof is None
    assert delivered.id == event.id


def test_r_events_before_the_municipality_are_held_then_released_to_it() -> None:
    noted = YouthCareNoted(
        case_id=CASE, wijkteam_worker_id="wt-1", reason="zorg", noted_by="w-1", noted_at=NOW
    )
    early = bus_event(noted)
    held = route(None, [], minimise(early, noted), None, early.time)
    assert held.route is None and held.deliver == ()
    assert held.hold is not None and held.hold.id == early.id

    payload = escalated("GM0599")
    event = bus_event(payload)
    released = route(None, [held.hold], minimise(event, payload), "GM0599", event.time)
    assert released.released
    assert [(r, e.id) for r, e in released.deliver] == [("gm0599", early.id), ("gm0599", event.id)]


def test_r_later_events_follow_the_route_and_a_move_is_followed_by_time() -> None:
    current = WebhookRoute("gm0606", "GM0606", NOW)
    closed = TrajectoryClosed(case_id=CASE, closed_by="w-1", closed_at=NOW)
    event = bus_event(closed)
    routed = route(current, [], minimise(event, closed), None, event.time)
    assert [r for r, _ in routed.deliver] == ["gm0606"]

    moved = escalated("GM0599")
    later = bus_event(moved).model_copy(update={"time": NOW + timedelta(days=1)})
    routed = route(current, [], minimise(later, moved), "GM0599", later.time)
    assert routed.route is not None and routed.route.region == "gm0599"
    assert [r for r, _ in routed.deliver] == ["gm0599"]

    # An older escalation that arrives late goes to its own municipality only, and does
    # not take the case's later events with it.
    newer = WebhookRoute("gm0599", "GM0599", NOW + timedelta(days=2))
    routed = route(newer, [], minimise(later, moved), "GM0606", later.time)
    assert routed.route == newer
    assert [r for r, _ in routed.deliver] == ["gm0606"]


def test_r_what_no_municipality_may_see_is_neither_held_nor_delivered() -> None:
    current = WebhookRoute("gm0606", "GM0606", NOW)
    routed = route(current, [], None, None, NOW)
    assert routed.deliver == () and routed.hold is None
