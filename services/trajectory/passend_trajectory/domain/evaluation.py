"""Evaluation and its outcomes (W21, S), and closing after a final evaluation."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import (
    EvaluationOutcome,
    EvaluationRecorded,
    GoalResult,
    StagnationReason,
    TrajectoryClosed,
)
from passend_contracts.municipalities import MunicipalityCode
from passend_trajectory.domain.care_level import REFERRAL_LEVEL, change_care_level
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.domain.team_no import Escalate, escalate


class EscalationDetails(BaseModel):
    """What an evaluation that escalates passes to Team NO (TNO)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    escalation_id: UUID
    municipality: MunicipalityCode
    reasons: list[StagnationReason] = Field(min_length=1)
    draft_plan: str = Field(min_length=1)
    # Not the caller's to say: the service sets it from the SWV's Team NO regions.
    region: SkipJsonSchema[str | None] = None


class RecordEvaluation(Command):
    evaluation_id: UUID
    participants: list[str] = Field(min_length=1)
    goal_results: list[GoalResult]
    outcome: EvaluationOutcome
    care_level: int | None = Field(default=None, ge=1, le=4)
    reason: str | None = None
    escalation: EscalationDetails | None = None


def _check_goal_results(state: TrajectoryState, cmd: RecordEvaluation) -> None:
    """W21: an evaluation gives a result for each goal of the current plan, and no others."""
    plan = state.current_plan
    assert plan is not None
    planned = {g.goal_id for g in plan.goals}
    given = [r.goal_id for r in cmd.goal_results]
    missing = sorted(planned - set(given))
    unknown = sorted(set(given) - planned)
    if missing or unknown or len(given) != len(set(given)):
        raise Refusal.invalid(
            "W21",
            f"give one result per goal of plan revision {plan.revision}"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not in the plan: {', '.join(unknown)}" if unknown else ""),
        )


def record_evaluation(
    state: TrajectoryState, cmd: RecordEvaluation, act: Act
) -> list[EventPayload]:
    """W21, S: every trajectory is evaluated against its plan; the outcome closes (goals met),
    continues, revises the plan, changes the care level (S) or escalates to Team NO (TNO)."""
    require_open(state)
    assert state.case_id is not None
    if state.current_plan is None:
        raise Refusal.conflict("W21", "no plan recorded: an evaluation evaluates a plan")
    if any(e.evaluation_id == cmd.evaluation_id for e in state.evaluations):
        raise Refusal.conflict("W21", f"evaluation {cmd.evaluation_id} is already recorded")
    _check_goal_results(state, cmd)
    outcome = cmd.outcome
    if outcome is EvaluationOutcome.CLOSE and state.open_escalation is not None:
        raise Refusal.conflict("TNO", "the case awaits the Team NO decision: it can't close before")
    if outcome is not EvaluationOutcome.CHANGE_CARE_LEVEL and cmd.care_level is not None:
        raise Refusal.invalid("S", "a care level is given only with outcome change_care_level")
    if outcome is not EvaluationOutcome.ESCALATE and cmd.escalation is not None:
        raise Refusal.invalid("TNO", "escalation details are given only with outcome escalate")
    followers: list[EventPayload] = []
    if outcome is EvaluationOutcome.CHANGE_CARE_LEVEL:
        followers = change_care_level(state, cmd.care_level, cmd.reason, act)
    elif outcome is EvaluationOutcome.ESCALATE:
        if cmd.escalation is None:
            raise Refusal.invalid(
                "TNO", "an escalation names the municipality, the reasons and the draft plan"
            )
        details = cmd.escalation
        followers = escalate(state, Escalate(**details.model_dump()), act)
    recorded = EvaluationRecorded(
        case_id=state.case_id,
        evaluation_id=cmd.evaluation_id,
        participants=cmd.participants,
        goal_results=cmd.goal_results,
        outcome=outcome,
        care_level=cmd.care_level,
        reason=cmd.reason,
        referral=cmd.care_level == REFERRAL_LEVEL,
        evaluated_by=act.actor,
        evaluated_at=act.at,
    )
    return [recorded, *followers]


class CloseTrajectory(Command):
    """Close the trajectory after its final evaluation (no body)."""


def close_trajectory(state: TrajectoryState, cmd: CloseTrajectory, act: Act) -> list[EventPayload]:
    """W21: a trajectory closes only after a final evaluation (the latest one decided to close)."""
    require_open(state)
    assert state.case_id is not None
    final = state.final_evaluation
    if final is None:
        last = state.last_evaluation
        latest = (
            f"the latest evaluation ({last.evaluated_at.date().isoformat()}) decided "
            f"'{last.outcome.value}'"
            if last is not None
            else "no evaluation is recorded"
        )
        raise Refusal.conflict(
            "W21",
            f"a trajectory closes only after a final evaluation with outcome 'close': {latest}",
        )
    return [
        TrajectoryClosed(
            case_id=state.case_id,
            final_evaluation_id=final.evaluation_id,
            closed_by=act.actor,
            closed_at=act.at,
        )
    ]
