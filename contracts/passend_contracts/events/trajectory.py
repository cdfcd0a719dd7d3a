"""Events the trajectory service publishes: trajectories, evaluations and Team NO."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts import topics
from passend_contracts.events.base import EventPayload, PupilText
from passend_contracts.events.intake import SupportLevel


class TrajectoryOpened(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TrajectoryOpened.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "A trajectory was opened for a claimed case (W15)."
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "worker_id": "worker-0192",
        "opened_at": "2026-09-16T09:00:01+00:00",
    }

    case_id: UUID
    worker_id: str
    opened_at: datetime
    school_id: str | None = None
    ib_id: str | None = Field(default=None, description="The school's contact (W3)")


class EvaluationOutcome(StrEnum):
    """What an evaluation decides (W21, S)."""

    CLOSE = "close"
    CONTINUE = "continue"
    REVISE_PLAN = "revise_plan"
    CHANGE_CARE_LEVEL = "change_care_level"
    ESCALATE = "escalate"


class GoalResult(BaseModel):
    """How far one plan goal was reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal_id: str
    result: PupilText


class EvaluationRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.EvaluationRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "A trajectory was evaluated, as every trajectory always is (W21, S)."
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "participants": ["worker-0192", "ib-7731", "guardian-1f4e"],
        "goal_results": [
            {"goal_id": "goal-1", "result": "Starts work without help on 4 of 5 days."}
        ],
        "outcome": "continue",
        "care_level": 2,
        "reason": None,
        "evaluated_at": "2027-01-20T14:00:00+00:00",
    }

    case_id: UUID
    participants: list[str] = Field(min_length=1)
    goal_results: list[GoalResult]
    outcome: EvaluationOutcome
    care_level: int | None = Field(default=None, ge=1, le=4)
    reason: PupilText | None = None
    evaluated_at: datetime
    evaluation_id: UUID | None = None
    evaluated_by: str | None = None
    referral: bool = Field(
        default=False, description="Care level 4: referral to special (basic) education (S)"
    )


class StagnationReason(StrEnum):
    """Why a route stagnates (R)."""

    NO_AGREEMENT = "no_agreement"
    WAITING_LIST = "waiting_list"
    NO_BRIDGING_CARE = "no_bridging_care"
    BUDGET_DISPUTE = "budget_dispute"
    EXTREMELY_COMPLEX = "extremely_complex"


class EscalatedToTeamNO(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.EscalatedToTeamNO.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The route stagnated and the case went to the Team NO of the pupil's municipality (R)."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "municipality": "GM0363",
        "reasons": ["waiting_list", "no_bridging_care"],
        "draft_plan": "Bridging care at school two mornings a week until a place is available.",
        "escalated_at": "2027-02-03T11:30:00+00:00",
    }

    case_id: UUID
    municipality: str
    reasons: list[StagnationReason] = Field(min_length=1)
    draft_plan: PupilText
    escalated_at: datetime
    region: str | None = Field(default=None, description="The Team NO region (R)")
    escalation_id: UUID | None = None
    escalated_by: str | None = None


class ConsentStatus(StrEnum):
    """Parental consent for individual support as the trajectory knows it (W10)."""

    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"


class ConsentNoted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.ConsentNoted.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The trajectory took note of a consent fact recorded by intake, so its own log decides "
        "whether individual support may go on (W10)."
    )

    case_id: UUID
    status: ConsentStatus
    by: str = Field(description="Pseudonymous reference of the parent or guardian")
    at: datetime = Field(description="When the consent fact happened, as intake recorded it")
    source_event_id: UUID = Field(description="The intake event this notes")


class ComplexityNoted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.ComplexityNoted.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The case is complex: support can't start before an education specialist's analysis "
        "is recorded (W14)."
    )

    case_id: UUID
    source: str = Field(description="What marked it: an assignment or intake event type")
    source_event_id: UUID
    noted_at: datetime
    specialist_id: str | None = Field(
        default=None, description="The education specialist named for the case, if known"
    )


class StartConversationRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.StartConversationRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The start conversation sharpened the question behind the question; the request may "
        "be reformulated and widened beyond the pupil (W6, W7, W17)."
    )

    case_id: UUID
    participants: list[str] = Field(min_length=1)
    sharpened_question: PupilText = Field(min_length=1)
    reformulated_request: PupilText | None = None
    levels: list[SupportLevel] = Field(min_length=1)
    held_on: date
    recorded_by: str
    recorded_at: datetime
    group: str | None = Field(
        default=None,
        max_length=50,
        description="The pupil's group (class) at the school, if named; its teachers record "
        "measures and reflections (C)",
    )


class SpecialistAnalysisRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.SpecialistAnalysisRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The education specialist made an analysis with the school, as complex cases need "
        "before support starts (W14)."
    )

    case_id: UUID
    specialist_id: str
    analysis: PupilText = Field(min_length=1)
    recorded_at: datetime


class PlanGoal(BaseModel):
    """One measurable goal of a plan, with its target date (W15)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal_id: str = Field(min_length=1)
    description: PupilText = Field(min_length=1)
    measure: PupilText = Field(min_length=1, description="How reaching the goal is measured")
    target_date: date


class PlanRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.PlanRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "A plan, or a revision of it, was agreed jointly; earlier revisions stay on record "
        "(W15-W17, W20)."
    )

    case_id: UUID
    revision: int = Field(ge=1)
    goals: list[PlanGoal] = Field(min_length=1)
    supported: list[SupportLevel] = Field(min_length=1, description="Who is supported (W17)")
    form: PupilText = Field(min_length=1)
    school_participants: list[str] = Field(min_length=1)
    duration_weeks: int = Field(ge=1)
    frequency: PupilText = Field(min_length=1)
    parents_informed: PupilText = Field(min_length=1, description="How parents are kept informed")
    evaluation_method: PupilText = Field(min_length=1)
    evaluation_dates: list[date] = Field(min_length=1)
    securing: PupilText = Field(min_length=1, description="How results are secured (borging, W20)")
    reason: PupilText | None = Field(default=None, description="Why the plan was revised")
    recorded_by: str
    recorded_at: datetime


class SupportStarted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.SupportStarted.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "Support under the plan started, its gates passed: consent for individual support "
        "(W10), the specialist's analysis for a complex case (W14)."
    )

    case_id: UUID
    individual: bool = Field(description="The plan supports the pupil individually")
    started_by: str
    started_at: datetime


class TrajectoryPaused(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TrajectoryPaused.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "Individual support paused because consent was withdrawn (W10)."

    case_id: UUID
    rule: str
    reason: str
    paused_at: datetime


class TrajectoryResumed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TrajectoryResumed.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "Paused support may go on again: consent was given anew (W10)."

    case_id: UUID
    reason: PupilText
    resumed_at: datetime


class SessionRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.SessionRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "A support session took place; the support worker's own record of date and hours "
        "(W22, W23)."
    )

    case_id: UUID
    session_id: UUID
    worker_id: str
    held_on: date
    hours: float = Field(gt=0, le=24)
    findings: PupilText = ""
    recorded_at: datetime


class SignalRecipient(StrEnum):
    TEACHER = "teacher"
    IB = "ib"


class SignalTopic(StrEnum):
    """What a signal is about (W18, W19)."""

    TEACHING_PRACTICE = "teaching_practice"
    SCHOOL_OFFER = "school_offer"


class SignalRaised(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.SignalRaised.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The support worker signalled that the teacher's practice or the school's offer "
        "doesn't fit the need (W18, W19)."
    )

    case_id: UUID
    signal_id: UUID
    addressed_to: list[SignalRecipient] = Field(min_length=1)
    about: SignalTopic
    description: PupilText = Field(min_length=1)
    raised_by: str
    raised_at: datetime


class SignalAcknowledged(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.SignalAcknowledged.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The school acknowledged a signal; what it does with it is the school's call (W19)."
    )

    case_id: UUID
    signal_id: UUID
    acknowledged_by: str
    response: PupilText | None = None
    acknowledged_at: datetime


class CareLevelChanged(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.CareLevelChanged.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "An evaluation scaled the care level up or down (S levels 1-4); level 4 is a referral "
        "to special (basic) education, for which a TLV is requested (S)."
    )

    case_id: UUID
    from_level: int | None = Field(default=None, ge=1, le=4)
    to_level: int = Field(ge=1, le=4)
    reason: PupilText = Field(min_length=1)
    referral: bool
    changed_at: datetime


class OppRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.OppRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The school has a development plan (OPP) for the pupil; it is evaluated twice a "
        "school year and is needed before a TLV (S)."
    )

    case_id: UUID
    drawn_up_on: date
    recorded_by: str
    recorded_at: datetime
    # The OPP's own parts (SOP), optional: an OPP recorded by its date only still reads.
    # Free texts about the pupil, sealed (their lengths are the command's to limit: the
    # sealed form is longer than the text).
    starting_point: PupilText | None = Field(
        default=None, description="Beginsituatie: where the pupil stands now"
    )
    expected_outflow: PupilText | None = Field(
        default=None,
        description="Uitstroomperspectief: the school type the pupil is expected to go on to",
    )
    goals: list[PupilText] = Field(
        default_factory=list, max_length=10, description="The development goals, in order"
    )
    support: PupilText | None = Field(
        default=None, description="The support and adjustments the school gives"
    )


class OppEvaluated(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.OppEvaluated.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "The OPP was evaluated, as it is twice a school year (S)."

    case_id: UUID
    evaluated_on: date
    summary: PupilText = Field(min_length=1)
    recorded_by: str
    recorded_at: datetime


class CaseDirectorRole(StrEnum):
    """Who leads the case (regiehouder, R)."""

    IB = "ib"
    EDUCATION_SPECIALIST = "education_specialist"
    WIJKTEAM_WORKER = "wijkteam_worker"


class YouthCareNoted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.YouthCareNoted.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "Youth care is needed; the wijkteam is involved and its worker directs the case (R)."
    )

    case_id: UUID
    wijkteam_worker_id: str | None = None
    reason: PupilText = Field(min_length=1)
    noted_by: str
    noted_at: datetime


class CaseDirectorChanged(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.CaseDirectorChanged.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "Someone else leads the case now, derived from the route or set explicitly, always "
        "with the reason (R)."
    )

    case_id: UUID
    role: CaseDirectorRole
    person_id: str | None = None
    reason: PupilText = Field(min_length=1)
    explicit: bool
    changed_at: datetime


class TeamNODecisionRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TeamNODecisionRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "Team NO cut the knot: what is decided, the assignment given, and which provider "
        "delivers; the case continues from there (R)."
    )

    case_id: UUID
    escalation_id: UUID | None = None
    decision: PupilText = Field(min_length=1)
    assignment: PupilText = Field(min_length=1)
    provider: str = Field(min_length=1)
    decided_by: str
    decided_at: datetime


class TrajectoryClosed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TrajectoryClosed.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "The trajectory was closed after its final evaluation (W21)."

    case_id: UUID
    final_evaluation_id: UUID | None = None
    closed_by: str
    closed_at: datetime


class EvaluationKind(StrEnum):
    PLAN = "plan"
    OPP = "opp"


class EvaluationReminded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.EvaluationReminded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "An evaluation is due soon or overdue and the support worker is reminded (W21, S)."
    )

    case_id: UUID
    kind: EvaluationKind
    due_on: date
    worker_id: str
    reminded_at: datetime


class TrajectoryWithdrawn(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TrajectoryWithdrawn.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The school withdrew the request (intake's RequestWithdrawn): the trajectory ends "
        "with it, opened or not, and takes no further step (W1). withdrawn_at is the "
        "request's own, so every service dates the end of the case alike."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "withdrawn_by": "ib-7731",
        "reason": "De school heeft de aanvraag ingetrokken; de reden staat bij de aanvraag.",
        "withdrawn_at": "2026-09-16T09:00:00+00:00",
        "source_event_id": "6c1e2a40-58d3-4f1b-9a7e-0d2c4b8e1f35",
        "noted_at": "2026-09-16T09:00:01+00:00",
    }

    case_id: UUID
    withdrawn_by: str = Field(description="Who withdrew the request at the school")
    reason: str = Field(
        min_length=1,
        description="Why, in trajectory's words: the school withdrew (its own words are "
        "sealed with intake's key and read on the request), or the pupil was erased",
    )
    withdrawn_at: datetime = Field(description="When the school withdrew, as intake recorded it")
    source_event_id: UUID = Field(description="The intake event this notes")
    noted_at: datetime


class PupilGroupNoted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.PupilGroupNoted.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The pupil's group (class) at the school was noted, e.g. in a new school year; the "
        "teachers of that group record measures and reflections (C, W16)."
    )

    case_id: UUID
    group: str = Field(min_length=1, max_length=50)
    noted_by: str
    noted_at: datetime


class MeasureTried(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.MeasureTried.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "A teacher of the pupil's group worked out and tried a measure, aid or approach in "
        "the class: what worked, what did not, and why (C, W16)."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "measure_id": "0f8d6a52-1c3b-4e7a-9d2f-5b6c7e8a9d01",
        "description": "A timer on the desk for the first ten minutes of independent work.",
        "tried_from": "2026-10-05",
        "tried_until": "2026-10-16",
        "observations": "Starts sooner on three of five days; not after the break.",
        "group": "groep 5b",
        "recorded_by": "teacher-3",
        "recorded_at": "2026-10-16T15:30:00+00:00",
    }

    case_id: UUID
    measure_id: UUID
    description: PupilText = Field(min_length=1, description="The measure, aid or approach")
    tried_from: date
    tried_until: date | None = None
    observations: PupilText = Field(min_length=1, description="What worked, what did not, and why")
    group: str = Field(description="The pupil's group the teacher teaches")
    recorded_by: str
    recorded_at: datetime


class ReflectionRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.ReflectionRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "A teacher and the support worker reflected together on measures tried, and on what "
        "to adjust and how (C)."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "reflection_id": "7a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d",
        "measure_ids": ["0f8d6a52-1c3b-4e7a-9d2f-5b6c7e8a9d01"],
        "held_on": "2026-10-19",
        "reflection": "The timer helps in the morning; after the break the pupil needs a cue.",
        "adjustments": "Add a picture cue after the break; try it for two weeks.",
        "worker_id": "worker-0192",
        "recorded_by": "teacher-3",
        "recorded_at": "2026-10-19T15:00:00+00:00",
    }

    case_id: UUID
    reflection_id: UUID
    measure_ids: list[UUID] = Field(min_length=1, description="The measures reflected on")
    held_on: date
    reflection: PupilText = Field(min_length=1)
    adjustments: PupilText = Field(description="What is adjusted and how; empty when nothing is")
    worker_id: str | None = Field(description="The support worker reflected with")
    recorded_by: str
    recorded_at: datetime


class InvitationOccasion(StrEnum):
    """Why a partner invites the school's external adviser (C: 'knipperlichtmomenten')."""

    WARNING_SIGN = "warning_sign"  # something flashes amber in the support
    PARENTS_HARD_TO_REACH = "parents_hard_to_reach"
    REORIENTATION = "reorientation"  # towards another level or special education
    ON_REQUEST = "on_request"


class AdviserInvited(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.AdviserInvited.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "A partner in the case invited a named adviser to a meeting about it, with a clear "
        "goal; the adviser sees the invitation (C)."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "invitation_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
        "adviser_id": "os-marleen",
        "goal": "Decide together whether a move to special basic education is to be explored.",
        "occasion": "reorientation",
        "meeting_on": "2026-11-04",
        "invited_by": "ib-7731",
        "invited_at": "2026-10-21T10:00:00+00:00",
    }

    case_id: UUID
    invitation_id: UUID
    adviser_id: str = Field(description="The invited person, by the id in their token")
    goal: PupilText = Field(min_length=1, description="What the meeting is for")
    occasion: InvitationOccasion
    meeting_on: date
    invited_by: str
    invited_at: datetime
