"""The state of one case's trajectory, as folded from its events."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict

from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    AdviserInvited,
    CareLevelChanged,
    CaseDirectorChanged,
    CaseDirectorRole,
    ComplexityNoted,
    ConsentNoted,
    ConsentStatus,
    EscalatedToTeamNO,
    EvaluationOutcome,
    EvaluationRecorded,
    EvaluationReminded,
    MeasureTried,
    OppEvaluated,
    OppRecorded,
    PlanRecorded,
    ReflectionRecorded,
    SessionRecorded,
    SignalAcknowledged,
    SignalRaised,
    SpecialistAnalysisRecorded,
    StartConversationRecorded,
    SupportStarted,
    TeamNODecisionRecorded,
    TrajectoryClosed,
    TrajectoryOpened,
    TrajectoryPaused,
    TrajectoryWithdrawn,
    YouthCareNoted,
)


class Signal(BaseModel):
    """A raised signal and, once there is one, the school's acknowledgement (W18, W19)."""

    model_config = ConfigDict(frozen=True)

    raised: SignalRaised
    acknowledged: SignalAcknowledged | None = None


class Escalation(BaseModel):
    """An escalation to Team NO and, once taken, its decision (TNO)."""

    model_config = ConfigDict(frozen=True)

    escalated: EscalatedToTeamNO
    decision: TeamNODecisionRecorded | None = None


class TrajectoryState(BaseModel):
    """Everything the rules need about one case; events keep their own shape inside."""

    model_config = ConfigDict(frozen=True)

    version: int = 0  # events folded so far (the stream version)
    case_id: UUID | None = None
    opened: TrajectoryOpened | None = None
    consent: ConsentNoted | None = None  # the latest consent fact
    complexity: tuple[ComplexityNoted, ...] = ()
    start_conversation: StartConversationRecorded | None = None
    specialist_analysis: SpecialistAnalysisRecorded | None = None
    plans: tuple[PlanRecorded, ...] = ()  # every revision, oldest first
    support: SupportStarted | None = None
    paused: TrajectoryPaused | None = None
    sessions: tuple[SessionRecorded, ...] = ()
    signals: tuple[Signal, ...] = ()
    evaluations: tuple[EvaluationRecorded, ...] = ()
    evaluations_since_plan: int = 0  # evaluations recorded after the current plan revision
    care_levels: tuple[CareLevelChanged, ...] = ()
    opp: OppRecorded | None = None
    opp_evaluations: tuple[OppEvaluated, ...] = ()
    youth_care: YouthCareNoted | None = None
    directors: tuple[CaseDirectorChanged, ...] = ()
    # The derived director role at the latest change: an explicit choice holds until the
    # situation it overrode changes (R).
    director_basis: tuple[CaseDirectorRole, str | None] | None = None
    escalations: tuple[Escalation, ...] = ()
    reminders: tuple[EvaluationReminded, ...] = ()
    closed: TrajectoryClosed | None = None
    withdrawn: TrajectoryWithdrawn | None = None  # the school withdrew the request (W1)
    # The teacher's part (C): the pupil's group, measures tried, reflections; advisers invited.
    group: str | None = None
    measures: tuple[MeasureTried, ...] = ()
    reflections: tuple[ReflectionRecorded, ...] = ()
    invitations: tuple[AdviserInvited, ...] = ()

    @property
    def current_plan(self) -> PlanRecorded | None:
        return self.plans[-1] if self.plans else None

    @property
    def individual(self) -> bool:
        """The current plan supports the pupil individually (so consent is needed, W10)."""
        plan = self.current_plan
        return plan is not None and SupportLevel.PUPIL in plan.supported

    @property
    def consent_active(self) -> bool:
        return self.consent is not None and self.consent.status is ConsentStatus.CONFIRMED

    @property
    def complex(self) -> bool:
        return bool(self.complexity)

    @property
    def care_level(self) -> int | None:
        return self.care_levels[-1].to_level if self.care_levels else None

    @property
    def director(self) -> CaseDirectorChanged | None:
        return self.directors[-1] if self.directors else None

    @property
    def open_escalation(self) -> Escalation | None:
        last = self.escalations[-1] if self.escalations else None
        return last if last is not None and last.decision is None else None

    @property
    def last_evaluation(self) -> EvaluationRecorded | None:
        return self.evaluations[-1] if self.evaluations else None

    @property
    def final_evaluation(self) -> EvaluationRecorded | None:
        """The latest evaluation if it decided to close (W21)."""
        last = self.last_evaluation
        return last if last is not None and last.outcome is EvaluationOutcome.CLOSE else None

    @property
    def ended(self) -> bool:
        """Closed after its final evaluation (W21) or withdrawn with the request (W1)."""
        return self.closed is not None or self.withdrawn is not None

    @property
    def status(self) -> str:
        if self.withdrawn is not None:
            return "withdrawn"  # whether or not a claim opened it (W1)
        if self.opened is None:
            return "not_opened"
        if self.closed is not None:
            return "closed"
        if self.open_escalation is not None:
            return "escalated"
        if self.paused is not None:
            return "paused"
        if self.support is not None:
            return "in_support"
        return "exploring"
