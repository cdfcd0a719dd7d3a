"""Building trajectories for the unit tests: commands run through decide and evolve."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    ConsentStatus,
    EvaluationOutcome,
    GoalResult,
    PlanGoal,
    StagnationReason,
)
from passend_trajectory.domain import facts
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.decide import Decision, decide
from passend_trajectory.domain.evaluation import (
    EscalationDetails,
    RecordEvaluation,
    record_evaluation,
)
from passend_trajectory.domain.evolve import replay
from passend_trajectory.domain.exploration import (
    RecordSpecialistAnalysis,
    RecordStartConversation,
    record_specialist_analysis,
    record_start_conversation,
)
from passend_trajectory.domain.gates import start_support
from passend_trajectory.domain.plan import RecordPlan, record_plan
from passend_trajectory.domain.state import TrajectoryState

CASE = UUID("3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13")
WORKER = "worker-0192"
IB = "ib-7731"
SPECIALIST = "specialist-12"
T0 = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)


def act(actor: str = WORKER, at: datetime = T0) -> Act:
    return Act(actor=actor, at=at)


class Trajectory:
    """A trajectory under test: its state and every event decided so far."""

    def __init__(self) -> None:
        self.state = TrajectoryState()
        self.events: list[EventPayload] = []
        self.now = T0

    def later(self, **delta: float) -> Trajectory:
        self.now += timedelta(**delta)
        return self

    def run(self, decision: Decision, actor: str = WORKER) -> list[EventPayload]:
        events = decide(self.state, decision, act(actor, self.now))
        self.state = replay(events, self.state)
        self.events.extend(events)
        return events

    def open(self) -> Trajectory:
        self.run(
            lambda s: facts.open_trajectory(
                s, case_id=CASE, worker_id=WORKER, school_id="school-1", ib_id=IB, act=act()
            ),
            actor="trajectory",
        )
        return self

    def consent(self, status: ConsentStatus = ConsentStatus.CONFIRMED) -> list[EventPayload]:
        now = self.now
        return self.run(
            lambda s: facts.note_consent(
                s,
                case_id=CASE,
                status=status,
                by="guardian-1",
                at=now,
                source_event_id=uuid4(),
                act=act("trajectory", now),
            ),
            actor="trajectory",
        )

    def complex(self, source: str = "nl.passend.intake.RequestSubmitted.v1") -> None:
        self.run(
            lambda s: facts.note_complexity(
                s, case_id=CASE, source=source, source_event_id=uuid4(), act=act()
            )
        )

    def explore(self) -> Trajectory:
        cmd = RecordStartConversation(
            participants=[WORKER, IB, "teacher-3"],
            sharpened_question="How does the pupil start work on his own?",
            levels=[SupportLevel.PUPIL, SupportLevel.TEACHER],
            held_on=self.now.date(),
        )
        self.run(lambda s: record_start_conversation(s, cmd, act(WORKER, self.now)))
        return self

    def analyse(self) -> None:
        cmd = RecordSpecialistAnalysis(analysis="Attention and home situation interact.")
        self.run(
            lambda s: record_specialist_analysis(s, cmd, act(SPECIALIST, self.now)), SPECIALIST
        )

    def plan(
        self,
        supported: tuple[SupportLevel, ...] = (SupportLevel.PUPIL,),
        reason: str | None = None,
        goals: tuple[str, ...] = ("goal-1",),
    ) -> list[EventPayload]:
        cmd = plan_command(self.now.date(), supported, reason, goals)
        return self.run(lambda s: record_plan(s, cmd, act(WORKER, self.now)))

    def start(self) -> list[EventPayload]:
        return self.run(lambda s: start_support(s, act(WORKER, self.now)))


def plan_command(
    today: date,
    supported: tuple[SupportLevel, ...] = (SupportLevel.PUPIL,),
    reason: str | None = None,
    goals: tuple[str, ...] = ("goal-1",),
) -> RecordPlan:
    return RecordPlan(
        goals=[
            PlanGoal(
                goal_id=g,
                description="Starts work without help",
                measure="4 of 5 days, observed by the teacher",
                target_date=today + timedelta(weeks=12),
            )
            for g in goals
        ],
        supported=list(supported),
        form="coaching the teacher, two sessions with the pupil",
        school_participants=[IB, "teacher-3"],
        duration_weeks=12,
        frequency="every other week",
        parents_informed="by the teacher after each evaluation",
        evaluation_method="evaluation meeting with IB, teacher and parents",
        evaluation_dates=[today + timedelta(weeks=6), today + timedelta(weeks=12)],
        securing="the approach goes into the group plan",
        reason=reason,
    )


def evaluation_command(
    state: TrajectoryState,
    outcome: EvaluationOutcome,
    *,
    care_level: int | None = None,
    reason: str | None = None,
    escalation: EscalationDetails | None = None,
) -> RecordEvaluation:
    """An evaluation giving a result for each goal of the current plan."""
    goals = state.current_plan.goals if state.current_plan else []
    return RecordEvaluation(
        evaluation_id=uuid4(),
        participants=[WORKER, IB, "teacher-3"],
        goal_results=[GoalResult(goal_id=g.goal_id, result="partly reached") for g in goals],
        outcome=outcome,
        care_level=care_level,
        reason=reason,
        escalation=escalation,
    )


def evaluate(t: Trajectory, outcome: EvaluationOutcome, **kw: Any) -> list[EventPayload]:
    cmd = evaluation_command(t.state, outcome, **kw)
    return t.run(lambda s: record_evaluation(s, cmd, act(WORKER, t.now)))


def escalation(
    reasons: tuple[StagnationReason, ...] = (StagnationReason.WAITING_LIST,),
) -> EscalationDetails:
    return EscalationDetails(
        escalation_id=uuid4(),
        municipality="GM0622",
        reasons=list(reasons),
        draft_plan="Bridging care at school two mornings a week.",
    )


def running() -> Trajectory:
    """An opened, planned (pupil) trajectory with consent, support started."""
    t = Trajectory().open().explore()
    t.plan()
    t.consent()
    t.start()
    return t
