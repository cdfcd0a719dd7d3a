"""Calling in the route coach when school and support worker can't resolve friction (W29)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from passend_assignment.domain.case import CaseState
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import RouteCoachCalledIn
from passend_contracts.events.base import EventPayload


class Side(StrEnum):
    SCHOOL = "school"
    SUPPORT = "support"


def call_route_coach(
    case: CaseState,
    caller_id: str,
    side: Side,
    caller_school: str | None,
    reason: str,
    route_coach_id: str | None,
    now: datetime,
) -> list[EventPayload]:
    """W29: either side calls in the route coach; the school through its IB, the support
    side through the worker responsible for the case (W25)."""
    if side is Side.SCHOOL and caller_school != case.school_id:
        raise Refusal.forbidden(
            "W29", "only the case's own school can call in the coach for the school"
        )
    if side is Side.SUPPORT and caller_id not in {case.receiving_worker_id, case.claimed_by}:
        raise Refusal.forbidden(
            "W29", f"the support side is represented by {case.responsible_worker_id} on this case"
        )
    return [
        RouteCoachCalledIn(
            case_id=case.case_id,
            route_coach_id=route_coach_id,
            called_by=caller_id,
            side=side.value,
            reason=reason.strip(),
            called_at=now,
        )
    ]
