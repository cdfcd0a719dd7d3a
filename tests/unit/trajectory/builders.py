"""Building trajectories for the unit tests: commands run through the decider and evolve."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    ConsentStatus,
    EvaluationOutcome,
    GoalResult,
    PlanGoal,
    StagnationReason,
)
from passend_trajectory.domain.commands import Act, Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.evaluation import EscalationDetails, RecordEvaluation
from passend_trajectory.domain.evolve import replay
from passend_trajectory.domain.exploration import RecordSpecialistAnalysis, RecordStartConversation
from passend_trajectory.domain.facts import (
    NoteComplexity,
    NoteConsent,
    NoteWithdrawal,
    OpenTrajectory,
)
from passend_trajectory.domain.gates import StartSupport
from passend_trajectory.domain.plan import RecordPlan
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

    def run(
        self, command: Any, actor: str = WORKER, at: datetime | None = None
    ) -> list[EventPayload]:
        """``command`` given by ``actor`` (now, or ``at``), decided by the trajectory's decider;
        a refusal is raised and changes nothing."""
        events = DECIDER.events_for(self.state, Issued(actor, command), at or self.now)
        self.state = replay(events, self.state)
        self.events.extend(events)
        return events

    def open(self) -> Trajectory:
        opened = OpenTrajectory(case_id=CASE, worker_id=WORKER, school_id="school-1", ib_id=IB)
        self.run(opened, actor="trajectory")
        return self

    def consent(self, status: ConsentStatus = ConsentStatus.CONFIRMED) -> list[EventPayload]:
        noted = NoteConsent(
            case_id=CASE, status=status, by="guardian-1", at=self.now, source_event_id=uuid4()
        )
        return self.run(noted, actor="trajectory")

    def withdraw(self, at: datetime | None = None) -> list[EventPayload]:
        """Intake's ``RequestWithdrawn`` of the case (W1), as the intake reactor notes it."""
        noted = NoteWithdrawal(
            case_id=CASE,
            withdrawn_by=IB,
            reason="Solved within basic support.",
            withdrawn_at=at or self.now,
            source_event_id=uuid4(),
        )
        return self.run(noted, actor="trajectory")

    def complex(self, source: str = "nl.passend.intake.RequestSubmitted.v1") -> None:
        self.run(NoteComplexity(case_id=CASE, source=source, source_event_id=uuid4()))

    def explore(self) -> Trajectory:
        cmd = RecordStartConversation(
            participants=[WORKER, IB, "teacher-3"],
            sharpened_question="How does the pupil start work on his own?",
            levels=[SupportLevel.PUPIL, SupportLevel.TEACHER],
            held_on=self.now.date(),
        )
        self.run(cmd)
        return self

    def analyse(self) -> None:
        self.run(
            RecordSpecialistAnalysis(analysis="Attention and home situation interact."), SPECIALIST
        )

    def plan(
        self,
        supported: tuple[SupportLevel, ...] = (SupportLevel.PUPIL,),
        reason: str | None = None,
        goals: tuple[str, ...] = ("goal-1",),
    ) -> list[EventPayload]:
        return self.run(plan_command(self.now.date(), supported, reason, goals))

    def start(self) -> list[EventPayload]:
        return self.run(StartSupport())


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
    return t.run(evaluation_command(t.state, outcome, **kw))


def escalation(
    reasons: tuple[StagnationReason, ...] = (StagnationReason.WAITING_LIST,),
) -> EscalationDetails:
    return EscalationDetails(
        escalation_id=uuid4(),
        municipality="GM0622",  # Vlaardingen, in the SWV's region waterweg
        reasons=list(reasons),
        draft_plan="Bridging care at school two mornings a week.",
        region="waterweg",  # as the service routes it (passend_trajectory.team_no_regions)
    )


def running() -> Trajectory:
    """An opened, planned (pupil) trajectory with consent, support started."""
    t = Trajectory().open().explore()
    t.plan()
    t.consent()
    t.start()
    return t


@contextmanager
def refused(kind: RefusalKind, match: str | None = None) -> Iterator[pytest.ExceptionInfo[Refusal]]:
    """The block raises a :class:`Refusal` of ``kind`` (its message matching ``match``)."""
    with pytest.raises(Refusal, match=match) as info:
        yield info
    assert info.value.kind is kind, info.value


def conflict(match: str | None = None) -> AbstractContextManager[pytest.ExceptionInfo[Refusal]]:
    """Refused as the case's state does not allow it now (409)."""
    return refused(RefusalKind.CONFLICT, match)


def invalid(match: str | None = None) -> AbstractContextManager[pytest.ExceptionInfo[Refusal]]:
    """Refused as the command contradicts itself (422)."""
    return refused(RefusalKind.INVALID, match)


def not_found(match: str | None = None) -> AbstractContextManager[pytest.ExceptionInfo[Refusal]]:
    """Refused as something it names does not exist (404)."""
    return refused(RefusalKind.NOT_FOUND, match)
