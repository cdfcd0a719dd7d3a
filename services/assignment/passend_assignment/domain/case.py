"""A case as assignment sees it: who received it, who claimed it, and the contact deadline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    CaseWithdrawn,
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    FirstContactRecorded,
    RequestRouted,
    RouteCoachCalledIn,
    SpecialistRequired,
)
from passend_contracts.events.base import EventPayload


@dataclass(frozen=True)
class RouteCoachCall:
    """W29: who called in the route coach, for which side, when, and which coach was told.
    The reason stays with the coach: the case's timeline tells that the call was made."""

    called_by: str
    side: str
    called_at: datetime
    route_coach_id: str | None = None


@dataclass(frozen=True)
class CaseState:
    """Everything the assignment rules need to know about one case."""

    case_id: UUID
    swv_id: str
    school_id: str
    ib_id: str
    receiving_worker_id: str
    routed_at: datetime
    work_unit_id: str | None = None
    need_areas: tuple[str, ...] = ()
    submitted_at: datetime | None = None
    contact_due_on: date | None = None
    contact_due_at: datetime | None = None
    remind_at: datetime | None = None
    offered_to: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    first_contact_at: datetime | None = None
    reminded: bool = False
    missed: bool = False
    specialist_required: bool = False
    route_coach_history: tuple[RouteCoachCall, ...] = ()
    withdrawn_at: datetime | None = None

    @property
    def route_coach_calls(self) -> int:
        """W29: how often the route coach was called in for the case."""
        return len(self.route_coach_history)

    @property
    def responsible_worker_id(self) -> str:
        """W25: the receiving worker stays responsible until someone claimed the case."""
        return self.claimed_by or self.receiving_worker_id

    @property
    def clock_running(self) -> bool:
        """W26: the contact deadline runs until first contact is recorded or the school
        withdraws the request."""
        return (
            self.first_contact_at is None
            and self.contact_due_at is not None
            and self.withdrawn_at is None
        )


def _routed(event: RequestRouted) -> CaseState:
    return CaseState(
        case_id=event.case_id,
        swv_id=event.swv_id,
        school_id=event.school_id,
        ib_id=event.ib_id or "",
        receiving_worker_id=event.receiving_worker_id,
        routed_at=event.routed_at,
        work_unit_id=event.work_unit_id,
        need_areas=tuple(event.need_areas),
        submitted_at=event.submitted_at,
        contact_due_on=event.contact_due_on,
        contact_due_at=event.contact_due_at,
        remind_at=event.remind_at,
    )


def evolve(state: CaseState | None, event: EventPayload) -> CaseState | None:
    """The case after ``event``; ``None`` until it was routed."""
    if isinstance(event, RequestRouted):
        return _routed(event) if state is None else state
    if state is None:
        return None
    match event:
        case SpecialistRequired():
            return replace(state, specialist_required=True)
        case CaseOfferedToWorkUnit():
            areas = tuple(dict.fromkeys((*state.need_areas, *event.need_areas)))
            return replace(state, offered_to=event.work_unit_id, need_areas=areas)
        case CaseClaimed():
            # W25: a hand-over moves the responsibility; the case was claimed when first claimed.
            claimed_at = state.claimed_at if event.handed_over_from else None
            return replace(
                state, claimed_by=event.worker_id, claimed_at=claimed_at or event.claimed_at
            )
        case FirstContactRecorded():
            return replace(state, first_contact_at=event.contacted_at)
        case ContactDeadlineApproaching():
            return replace(state, reminded=True)
        case ContactDeadlineMissed():
            return replace(state, missed=True)
        case RouteCoachCalledIn():
            call = RouteCoachCall(
                called_by=event.called_by,
                side=event.side,
                called_at=event.called_at,
                route_coach_id=event.route_coach_id,
            )
            return replace(state, route_coach_history=(*state.route_coach_history, call))
        case CaseWithdrawn():
            return replace(state, withdrawn_at=event.withdrawn_at)
        case _:
            return state


def fold(events: Iterable[EventPayload]) -> CaseState | None:
    state: CaseState | None = None
    for event in events:
        state = evolve(state, event)
    return state
