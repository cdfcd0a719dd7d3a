"""The plan and its revisions (W15-W17, W20); every revision keeps the earlier ones."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import PlanGoal, PlanRecorded
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


class RecordPlan(Command):
    goals: list[PlanGoal] = Field(min_length=1)
    supported: list[SupportLevel] = Field(min_length=1)
    form: str = Field(min_length=1)
    school_participants: list[str] = Field(min_length=1)
    duration_weeks: int = Field(ge=1)
    frequency: str = Field(min_length=1)
    parents_informed: str = Field(min_length=1)
    evaluation_method: str = Field(min_length=1)
    evaluation_dates: list[date] = Field(min_length=1)
    securing: str = Field(min_length=1)
    reason: str | None = None


def record_plan(state: TrajectoryState, cmd: RecordPlan, act: Act) -> list[EventPayload]:
    """W15-W17, W20: a plan agreed jointly after the start conversation (W6), with measurable
    goals each with a target date, how and when it is evaluated (W21) and how results are
    secured; a revision says why and keeps the earlier plan.

    W14 does not gate the plan, also not for a complex case. Its text: "betrokkenheid van
    de onderwijsspecialist [is] een voorwaarde. De onderwijsspecialist maakt in dat geval
    samen met de school een analyse alvorens er ondersteuning geboden wordt": the analysis
    comes before support is *given*, and the plan is what support worker and school agree
    on beforehand (W15). So a complex case's plan is recorded without the analysis, and
    the start of support (hence every session) waits for it
    (:func:`passend_trajectory.domain.gates.specialist_gate`); a plan the analysis changes
    is revised with its reason.
    """
    require_open(state)
    assert state.case_id is not None
    if state.start_conversation is None:
        raise Refusal.conflict(
            "W6", "no start conversation recorded: the plan follows the start conversation"
        )
    ids = [g.goal_id for g in cmd.goals]
    if len(set(ids)) != len(ids):
        raise Refusal.invalid("W15", "each goal needs its own goal_id")
    today = act.today
    if any(g.target_date < today for g in cmd.goals):
        raise Refusal.invalid("W15", "a goal's target date lies in the past")
    if any(d < today for d in cmd.evaluation_dates):
        raise Refusal.invalid("W21", "an evaluation date lies in the past")
    revision = len(state.plans) + 1
    if revision > 1 and not (cmd.reason and cmd.reason.strip()):
        raise Refusal.invalid("W15", "a plan revision needs the reason it is revised")
    return [
        PlanRecorded(
            case_id=state.case_id,
            revision=revision,
            goals=cmd.goals,
            supported=cmd.supported,
            form=cmd.form,
            school_participants=cmd.school_participants,
            duration_weeks=cmd.duration_weeks,
            frequency=cmd.frequency,
            parents_informed=cmd.parents_informed,
            evaluation_method=cmd.evaluation_method,
            evaluation_dates=sorted(cmd.evaluation_dates),
            securing=cmd.securing,
            reason=cmd.reason,
            recorded_by=act.actor,
            recorded_at=act.at,
        )
    ]
