"""Events the assignment service publishes: the directory, routing, claims and the contact deadline.

Case events live in the case's stream (``str(case_id)``); directory events live in one
stream per SWV (``directory:<swv_id>``) and carry no case id.
"""

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts import topics
from passend_contracts.events.base import EventPayload, PupilText

# --- directory -----------------------------------------------------------------------------


class ExpertiseArea(BaseModel):
    """One area of expertise an SWV distinguishes, with words that signal it in a request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    area_id: str = Field(min_length=1)
    label: str
    keywords: list[str] = Field(default_factory=list)


class HolidayPeriod(BaseModel):
    """A school holiday, first and last day inclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    first_day: date
    last_day: date


class CalendarPolicy(BaseModel):
    """Which days an SWV counts as working days for its deadlines (W26, S).

    Always: Monday to Friday, minus the Dutch public holidays (New Year's Day, Easter
    Monday, King's Day, Ascension Day, Whit Monday, Christmas and Boxing Day). The
    choices an SWV makes are the days schools differ on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    good_friday: Literal["closed", "working"] = Field(
        default="closed",
        description="Good Friday: most primary schools are closed (the default), some are not",
    )
    liberation_day: Literal["every_year", "lustrum", "working"] = Field(
        default="lustrum",
        description=(
            "5 May: closed every year, only every fifth year (2025, 2030, ...: the national "
            "agreement, the default), or a working day"
        ),
    )
    school_holidays: Literal["closed", "working"] = Field(
        default="closed",
        description="Whether the school holidays of the school's region stop the clock",
    )


class SwvConfigured(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.SwvConfigured.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "An SWV's settings were set: its name, education specialist (W14), route coach (W29), "
        "the expertise areas it distinguishes and the weekly hours a case takes (W24)."
    )

    swv_id: str
    name: str
    education_specialist_id: str | None = None
    route_coach_id: str | None = None
    case_hours_per_week: float = Field(default=2.0, gt=0)
    expertise_areas: list[ExpertiseArea] = Field(default_factory=list)
    configured_at: datetime
    calendar: CalendarPolicy | None = None  # None: the defaults of CalendarPolicy


class WorkUnitDefined(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.WorkUnitDefined.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = "A work unit of support workers and its coordinator were set (W24)."

    swv_id: str
    work_unit_id: str
    name: str
    coordinator_id: str | None = None
    defined_at: datetime


class SupportWorkerProfiled(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.SupportWorkerProfiled.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A support worker's work unit, expertise, weekly case hours and known schools were set; "
        "an inactive worker gets no suggestions (W24, W27)."
    )

    swv_id: str
    worker_id: str
    work_unit_id: str
    expertise: list[str] = Field(default_factory=list)
    weekly_case_hours: float = Field(ge=0)
    known_schools: list[str] = Field(default_factory=list)
    active: bool = True
    profiled_at: datetime


class PersonRegistered(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.PersonRegistered.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A person who works with Passend was registered in the SWV's directory, or changed: "
        "their name and work e-mail address and what they are in Passend (roles, school, "
        "work unit, Team NO region, a teacher's groups). The identity provider says who "
        "someone is; the directory says what they may do. Never a pupil or a parent."
    )

    swv_id: str
    person_id: str  # the id in tokens (``sub``) and in every event that names the person
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    # Values of passend_backbone.auth.Role: ib, teacher, support_worker, coordinator, ...
    roles: list[str] = Field(min_length=1)
    school_id: str | None = None  # IBs and teachers: their school
    work_unit_id: str | None = None  # support workers and coordinators: their work unit
    region: str | None = None  # Team NO members: their region
    groups: list[str] = Field(default_factory=list)  # teachers: the groups they teach
    login: str | None = None  # the subject at the identity provider, when not person_id
    registered_at: datetime


class PersonDeactivated(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.PersonDeactivated.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A person left the SWV's directory: from now on they may do nothing in Passend; "
        "what they did stays on record under their id."
    )

    swv_id: str
    person_id: str
    reason: str = Field(min_length=1, max_length=500)
    deactivated_at: datetime


class TeamNoRegionConfigured(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.TeamNoRegionConfigured.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A Team NO region of the SWV was set: its name, the municipalities it covers (CBS "
        "codes) and its members. An escalation goes to the region that covers the pupil's "
        "municipality (TNO); a municipality is in at most one region of an SWV. A region "
        "with no municipalities covers none any more."
    )

    swv_id: str
    region: str = Field(min_length=1, max_length=100)  # the id in tokens and agendas
    name: str = Field(min_length=1, max_length=200)
    municipalities: list[str] = Field(default_factory=list)  # CBS codes, such as GM0622
    members: list[str] = Field(default_factory=list)  # person ids of its Team NO members
    configured_at: datetime


class SchoolRegistered(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.SchoolRegistered.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A school of the SWV, its municipality and its school-holiday region were set (R, W26)."
    )

    swv_id: str
    school_id: str
    name: str
    municipality: str
    holiday_region: str | None = None
    registered_at: datetime


class SchoolHolidaysConfigured(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.SchoolHolidaysConfigured.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The school holidays of one region were set; they are not working days for the "
        "contact deadline (W26)."
    )

    swv_id: str
    region: str
    periods: list[HolidayPeriod]
    configured_at: datetime


# --- cases ---------------------------------------------------------------------------------


class RequestRouted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.RequestRouted.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A new request landed in the inbox of the support worker it was addressed to, who is "
        "responsible for it until someone claims it (W24, W25)."
    )

    case_id: UUID
    swv_id: str
    school_id: str
    receiving_worker_id: str
    routed_at: datetime
    ib_id: str | None = None
    work_unit_id: str | None = None
    need_areas: list[str] = Field(default_factory=list)
    submitted_at: datetime | None = None
    contact_due_on: date | None = Field(
        default=None, description="The fifth Dutch working day after submission (W26)"
    )
    contact_due_at: datetime | None = Field(
        default=None, description="When the contact deadline lapses: the end of contact_due_on"
    )
    remind_at: datetime | None = Field(
        default=None, description="When the reminder is due: the start of contact_due_on"
    )


class SpecialistRequired(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.SpecialistRequired.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The request signals multiple problems, so the SWV's education specialist must make an "
        "analysis with the school before support starts (W14)."
    )

    case_id: UUID
    swv_id: str
    specialist_id: str | None = None
    reason: str
    required_at: datetime


class CaseOfferedToWorkUnit(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.CaseOfferedToWorkUnit.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The receiving worker offered the case to the colleagues of their work unit; they stay "
        "responsible until someone claims it (W24, W25)."
    )

    case_id: UUID
    work_unit_id: str
    offered_by: str
    need_areas: list[str] = Field(default_factory=list)
    offered_at: datetime


class CaseClaimed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.CaseClaimed.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A support worker claimed the case and from now on leads the support; the IB must be "
        "contacted within one working week (W25, W26). With ``handed_over_from`` the case "
        "was handed over to this worker when the worker responsible for it left the directory."
    )

    case_id: UUID
    school_id: str
    ib_id: str  # the school's contact, who is told and must be contacted (W3, W26)
    worker_id: str
    claimed_at: datetime
    handed_over_from: str | None = Field(
        default=None,
        description=(
            "The worker who was responsible until a directory change handed the case over "
            "(W25); null when the worker claimed it themself"
        ),
    )


class FirstContactRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.FirstContactRecorded.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The claiming worker contacted the IB; the contact deadline's clock stops (W26)."
    )

    case_id: UUID
    worker_id: str
    ib_id: str
    contacted_at: datetime
    within_deadline: bool
    recorded_at: datetime


class ContactDeadlineApproaching(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.ContactDeadlineApproaching.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The IB has not been contacted and the deadline lapses at the end of this working day; "
        "whoever is responsible is reminded (W25, W26)."
    )

    case_id: UUID
    responsible_worker_id: str
    due_at: datetime
    raised_at: datetime


class ContactDeadlineMissed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.ContactDeadlineMissed.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "Five working days after submission the IB had not been contacted; the receiving "
        "worker and the work unit's coordinator are told (W26)."
    )

    case_id: UUID
    receiving_worker_id: str
    claimed_by: str | None = None
    coordinator_id: str | None = None
    due_at: datetime
    missed_at: datetime


class RouteCoachCalledIn(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.RouteCoachCalledIn.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The school or the support worker called in the route coach because cooperation "
        "stalls; the coach is told (W29)."
    )

    case_id: UUID
    route_coach_id: str | None = None
    called_by: str
    side: str = Field(description="school or support")
    reason: PupilText = Field(min_length=1)
    called_at: datetime


class CaseWithdrawn(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.CaseWithdrawn.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "The school withdrew its request (intake's RequestWithdrawn): the case leaves the "
        "inbox, the work unit's queue and the open deadlines, and its contact timers stop (W26)."
    )

    case_id: UUID
    receiving_worker_id: str
    claimed_by: str | None = None
    withdrawn_by: str = Field(description="Who withdrew the request at the school")
    withdrawn_at: datetime
