"""Routing a new request, offering it to the work unit and claiming it (W14, W24, W25)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from passend_assignment.domain.case import CaseState
from passend_assignment.domain.deadlines import contact_deadline
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.withdrawal import require_not_withdrawn
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    RequestRouted,
    SpecialistRequired,
)
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestSubmitted


def specialist_needed(request: RequestSubmitted) -> bool:
    """W14: a request that signals multiple problems needs the education specialist."""
    return request.multiple_problems


def route_request(
    request: RequestSubmitted, swv_id: str, directory: DirectoryState, now: datetime
) -> list[EventPayload]:
    """W24: the request lands in the inbox of the worker it was addressed to.

    Routing never refuses: a worker the directory does not know yet still receives the
    request (the directory may lag behind). W26: the contact deadline counts the working
    days of the SWV's calendar policy and the school's region's holidays (public holidays
    only for a school the directory does not know). W14: multiple problems also mark the
    case as needing the education specialist. The requested expertise areas are intake's
    (``RequestSubmitted.need_areas``): the request's words reach routing sealed.
    """
    deadline = contact_deadline(request.submitted_at, directory.calendar_of(request.school_id))
    worker = directory.workers.get(request.addressed_worker_id)
    settings = directory.settings
    events: list[EventPayload] = [
        RequestRouted(
            case_id=request.case_id,
            swv_id=swv_id,
            school_id=request.school_id,
            receiving_worker_id=request.addressed_worker_id,
            routed_at=now,
            ib_id=request.ib_id,
            work_unit_id=worker.work_unit_id if worker else None,
            need_areas=list(request.need_areas or []),
            submitted_at=request.submitted_at,
            contact_due_on=deadline.due_on,
            contact_due_at=deadline.due_at,
            remind_at=deadline.remind_at,
        )
    ]
    if specialist_needed(request):
        events.append(
            SpecialistRequired(
                case_id=request.case_id,
                swv_id=swv_id,
                specialist_id=settings.education_specialist_id if settings else None,
                reason="the school signals multiple problems at once",
                required_at=now,
            )
        )
    return events


def offer(
    case: CaseState, by: str, work_unit_id: str | None, areas: Sequence[str], now: datetime
) -> list[EventPayload]:
    """W25: the receiving worker offers the case to their work unit; they stay responsible."""
    if by != case.receiving_worker_id:
        raise Refusal.forbidden("W25", "only the worker who received the request can offer it")
    require_not_withdrawn(case, "W25")
    if case.claimed_by is not None:
        raise Refusal.conflict("W25", f"the case was already claimed by {case.claimed_by}")
    unit = work_unit_id or case.work_unit_id
    if unit is None:
        raise Refusal.conflict(
            "W24", "your work unit is unknown: ask the coordinator to add you to one"
        )
    if case.offered_to == unit and set(areas) <= set(case.need_areas):
        return []
    return [
        CaseOfferedToWorkUnit(
            case_id=case.case_id,
            work_unit_id=unit,
            offered_by=by,
            need_areas=list(areas),
            offered_at=now,
        )
    ]


def claim(
    case: CaseState, worker_id: str, worker_unit: str | None, now: datetime
) -> list[EventPayload]:
    """W25: the receiving worker claims, or a colleague claims from the work unit's queue.

    Only one claim wins: a claimed case refuses every further claim, including a second
    one by the same worker (retries use an Idempotency-Key instead). A withdrawn request
    can't be claimed.
    """
    require_not_withdrawn(case, "W25")
    if case.claimed_by is not None:
        raise Refusal.conflict("W25", f"the case was already claimed by {case.claimed_by}")
    if worker_id != case.receiving_worker_id and (
        case.offered_to is None or case.offered_to != worker_unit
    ):
        raise Refusal.conflict(
            "W25",
            f"the case is in the inbox of {case.receiving_worker_id} and was not offered to "
            "your work unit: ask them to offer it",
        )
    return [
        CaseClaimed(
            case_id=case.case_id,
            school_id=case.school_id,
            ib_id=case.ib_id,
            worker_id=worker_id,
            claimed_at=now,
        )
    ]
