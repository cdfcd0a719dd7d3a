"""Builders of assignment events and states for the unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.directory import DirectoryState, evolve
from passend_assignment.domain.routing import route_request
from passend_backbone.working_days import WorkingCalendar
from passend_contracts.events.assignment import (
    ExpertiseArea,
    SupportWorkerProfiled,
    SwvConfigured,
    WorkUnitDefined,
)
from passend_contracts.events.intake import RequestSubmitted, SupportLevel
from passend_intake.domain.need_areas import need_areas

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # a Monday
SWV = "swv-test"
NO_HOLIDAYS = WorkingCalendar(public_holidays=set())
AREAS = (
    ExpertiseArea(area_id="reading", label="Lezen", keywords=["leest", "spelling"]),
    ExpertiseArea(area_id="behaviour", label="Gedrag", keywords=["gedrag", "boos"]),
)


def submitted(
    *,
    case_id: UUID | None = None,
    worker: str = "w-anna",
    school: str = "school-1",
    multiple_problems: bool = False,
    need: str = "Leest erg langzaam, spelling blijft achter",
    at: datetime = NOW,
) -> RequestSubmitted:
    """A request as intake submits it: with the areas its words signal (W24)."""
    return RequestSubmitted(
        case_id=case_id or uuid4(),
        school_id=school,
        ib_id="ib-1",
        addressed_worker_id=worker,
        pupil_ref="p-17",
        levels=[SupportLevel.PUPIL],
        educational_need=need,
        tried_in_basic_support="extra leestijd",
        why_stuck="geen vooruitgang",
        multiple_problems=multiple_problems,
        specialist_advised=False,
        submitted_at=at,
        need_areas=need_areas(f"{need} geen vooruitgang", AREAS),
    )


def worker(
    worker_id: str,
    *,
    unit: str = "wu-1",
    expertise: tuple[str, ...] = (),
    hours: float = 16,
    schools: tuple[str, ...] = (),
    active: bool = True,
) -> SupportWorkerProfiled:
    return SupportWorkerProfiled(
        swv_id=SWV,
        worker_id=worker_id,
        work_unit_id=unit,
        expertise=list(expertise),
        weekly_case_hours=hours,
        known_schools=list(schools),
        active=active,
        profiled_at=NOW,
    )


def directory(*workers: SupportWorkerProfiled) -> DirectoryState:
    state = DirectoryState()
    events = [
        SwvConfigured(
            swv_id=SWV,
            name="Test",
            education_specialist_id="spec-1",
            route_coach_id="coach-1",
            expertise_areas=list(AREAS),
            configured_at=NOW,
        ),
        WorkUnitDefined(
            swv_id=SWV, work_unit_id="wu-1", name="Noord", coordinator_id="co-1", defined_at=NOW
        ),
        *workers,
    ]
    for event in events:
        state = evolve(state, event)
    return state


def routed_case(
    request: RequestSubmitted | None = None, dir_state: DirectoryState | None = None
) -> case_domain.CaseState:
    events = route_request(
        request or submitted(), SWV, dir_state or directory(worker("w-anna")), NOW
    )
    state = case_domain.fold(events)
    assert state is not None
    return state


def step(state: case_domain.CaseState, *events: object) -> case_domain.CaseState:
    """The case after ``events`` (which must leave it routed)."""
    out: case_domain.CaseState | None = state
    for event in events:
        out = case_domain.evolve(out, event)  # type: ignore[arg-type]
    assert out is not None
    return out
