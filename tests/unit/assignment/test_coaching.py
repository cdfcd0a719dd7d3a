"""W29: the school's IB or the case's support worker calls in the SWV's route coach."""

from __future__ import annotations

import pytest

from passend_assignment.domain.case import RouteCoachCall
from passend_assignment.domain.coaching import Side, call_route_coach
from passend_assignment.domain.routing import claim
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import RouteCoachCalledIn

from .factories import NOW, routed_case, step


def test_w29_the_school_calls_in_the_coach() -> None:
    case = routed_case()
    (event,) = call_route_coach(case, "ib-1", Side.SCHOOL, "school-1", " vastgelopen ", "rb", NOW)
    assert isinstance(event, RouteCoachCalledIn)
    assert (event.route_coach_id, event.side, event.reason) == ("rb", "school", "vastgelopen")
    after = step(case, event)
    assert after.route_coach_calls == 1
    # Issue 19: who called and when stay with the case, for its timeline.
    assert after.route_coach_history == (RouteCoachCall("ib-1", "school", NOW, "rb"),)


def test_w29_another_school_may_not() -> None:
    with pytest.raises(Refusal) as refused:
        call_route_coach(routed_case(), "ib-9", Side.SCHOOL, "school-9", "x", "rb", NOW)
    assert refused.value.kind is RefusalKind.FORBIDDEN


def test_w29_the_support_side_is_the_receiving_or_claiming_worker() -> None:
    case = routed_case()
    assert call_route_coach(case, "w-anna", Side.SUPPORT, None, "x", None, NOW)
    with pytest.raises(Refusal, match="w-anna"):
        call_route_coach(case, "w-bram", Side.SUPPORT, None, "x", None, NOW)
    case = step(case, *claim(case, "w-anna", "wu-1", NOW))
    assert call_route_coach(case, "w-anna", Side.SUPPORT, None, "x", None, NOW)
