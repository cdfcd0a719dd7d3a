"""The shapes of the HTTP API's requests and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from passend_assignment.consent_view import ConsentOut
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.deadlines import TimeLeft
from passend_assignment.domain.ranking import Suggestion


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OfferIn(_In):
    work_unit_id: str | None = Field(
        default=None, description="Defaults to the receiving worker's own work unit"
    )
    need_areas: list[str] = Field(
        default_factory=list, description="Expertise areas the case needs, to rank colleagues"
    )


class FirstContactIn(_In):
    contacted_at: AwareDatetime


class RouteCoachIn(_In):
    reason: str = Field(min_length=3, max_length=2000, description="Why cooperation stalls")


class TimeLeftOut(BaseModel):
    seconds: int
    working_days: int
    lapsed: bool

    @classmethod
    def of(cls, left: TimeLeft) -> TimeLeftOut:
        return cls(seconds=left.seconds, working_days=left.working_days, lapsed=left.lapsed)


class RouteCoachCallOut(BaseModel):
    """W29: one call of the route coach: who called, for which side (``school`` or
    ``support``), when, and the coach who was told (none when the SWV named none)."""

    called_by: str
    side: str
    called_at: datetime
    route_coach_id: str | None


class CaseOut(BaseModel):
    """A case as assignment sees it; ``responsible_worker_id`` follows W25."""

    case_id: UUID
    school_id: str
    ib_id: str
    receiving_worker_id: str
    responsible_worker_id: str
    work_unit_id: str | None
    need_areas: list[str]
    submitted_at: datetime | None
    contact_due_on: date | None
    contact_due_at: datetime | None
    offered_to: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    first_contact_at: datetime | None
    reminded: bool
    deadline_missed: bool
    specialist_required: bool
    route_coach_calls: int
    route_coach_history: list[RouteCoachCallOut] = Field(
        default_factory=list, description="W29: every call of the route coach, oldest first"
    )
    withdrawn_at: datetime | None = None
    consent: ConsentOut | None = Field(
        default=None, description="W10: the parents' consent as intake published it, if asked"
    )

    @classmethod
    def of(cls, case: CaseState) -> CaseOut:
        return cls(
            case_id=case.case_id,
            school_id=case.school_id,
            ib_id=case.ib_id,
            receiving_worker_id=case.receiving_worker_id,
            responsible_worker_id=case.responsible_worker_id,
            work_unit_id=case.work_unit_id,
            need_areas=list(case.need_areas),
            submitted_at=case.submitted_at,
            contact_due_on=case.contact_due_on,
            contact_due_at=case.contact_due_at,
            offered_to=case.offered_to,
            claimed_by=case.claimed_by,
            claimed_at=case.claimed_at,
            first_contact_at=case.first_contact_at,
            reminded=case.reminded,
            deadline_missed=case.missed,
            specialist_required=case.specialist_required,
            route_coach_calls=case.route_coach_calls,
            route_coach_history=[
                RouteCoachCallOut(
                    called_by=c.called_by,
                    side=c.side,
                    called_at=c.called_at,
                    route_coach_id=c.route_coach_id,
                )
                for c in case.route_coach_history
            ],
            withdrawn_at=case.withdrawn_at,
        )


class BoardCaseOut(BaseModel):
    """One case in an inbox, a queue or the open deadlines."""

    case_id: UUID
    school_id: str | None
    ib_id: str | None
    receiving_worker_id: str | None
    responsible_worker_id: str | None
    work_unit_id: str | None
    need_areas: list[str]
    submitted_at: datetime | None
    routed_at: datetime | None
    offered_to: str | None
    claimed_by: str | None
    specialist_required: bool
    contact_due_on: date | None
    contact_due_at: datetime | None
    deadline_missed: bool
    time_left: TimeLeftOut | None

    @classmethod
    def of(cls, row: Any, left: TimeLeft | None) -> BoardCaseOut:
        return cls(
            case_id=row["case_id"],
            school_id=row["school_id"],
            ib_id=row["ib_id"],
            receiving_worker_id=row["receiving_worker_id"],
            responsible_worker_id=row["claimed_by"] or row["receiving_worker_id"],
            work_unit_id=row["work_unit_id"],
            need_areas=list(row["need_areas"]),
            submitted_at=row["submitted_at"],
            routed_at=row["routed_at"],
            offered_to=row["offered_to"],
            claimed_by=row["claimed_by"],
            specialist_required=row["specialist_required"],
            contact_due_on=row["contact_due_on"],
            contact_due_at=row["contact_due_at"],
            deadline_missed=row["missed_at"] is not None,
            time_left=TimeLeftOut.of(left) if left is not None else None,
        )


class FactorOut(BaseModel):
    """W24: one factor of a suggestion: its score 0..1, its weight in ``total``, the order
    in which it decides (``priority``, 1 first) and a reason in English."""

    factor: str
    score: float
    weight: float
    why: str
    priority: int


class SuggestionOut(BaseModel):
    """W24: a colleague suggested for the case, placed expertise first, then knowing the
    school, then hours free (domain/ranking.py); the facts behind the place as data."""

    worker_id: str
    total: float  # the share of the requested areas the worker has, 0..1
    factors: list[FactorOut]
    position: int  # 1 for the best fit
    requested_areas: list[str]  # the case's requested expertise areas (area ids)
    has_areas: list[str]  # of those, the ones the worker has
    lacks_areas: list[str]  # and the ones the worker lacks
    knows_school: bool
    open_cases: int
    weekly_case_hours: float
    hours_free: float  # weekly case hours minus the hours the open cases take

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        return cls(
            worker_id=s.worker_id,
            total=s.total,
            factors=[FactorOut(**vars(f)) for f in s.factors],
            position=s.position,
            requested_areas=list(s.requested_areas),
            has_areas=list(s.has_areas),
            lacks_areas=list(s.lacks_areas),
            knows_school=s.knows_school,
            open_cases=s.open_cases,
            weekly_case_hours=s.weekly_case_hours,
            hours_free=s.hours_free,
        )


class CaseloadOut(BaseModel):
    worker_id: str
    work_unit_id: str | None
    open_cases: int
    weekly_case_hours: float | None
    hours_taken: float
    hours_free: float | None
    hours_over: float | None
    over_capacity: bool


class LeadTimesOut(BaseModel):
    swv: str
    submitted: int
    claimed: int
    contacted: int
    deadlines_missed: int
    claim_avg_hours: float | None
    claim_median_hours: float | None
    contact_avg_hours: float | None
    contact_median_hours: float | None
