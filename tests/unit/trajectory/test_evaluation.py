"""Evaluation outcomes (W21, S, TNO) and closing only after a final evaluation (W21)."""

from __future__ import annotations

from passend_contracts.events.trajectory import (
    CareLevelChanged,
    EscalatedToTeamNO,
    EvaluationOutcome,
    EvaluationRecorded,
    GoalResult,
    TrajectoryClosed,
)
from passend_trajectory.domain.evaluation import CloseTrajectory, record_evaluation
from tests.unit.trajectory.builders import (
    Trajectory,
    act,
    conflict,
    escalation,
    evaluate,
    evaluation_command,
    invalid,
    running,
)


def close(t: Trajectory) -> list:
    return t.run(CloseTrajectory())


def test_w21_an_evaluation_needs_a_plan() -> None:
    t = Trajectory().open().explore()
    t.plan()
    cmd = evaluation_command(t.state, EvaluationOutcome.CONTINUE)
    bare = Trajectory().open().explore()
    with conflict("no plan recorded") as refused:
        record_evaluation(bare.state, cmd, act())
    assert refused.value.rule == "W21"


def test_w21_each_goal_of_the_current_plan_gets_a_result() -> None:
    t = running()
    t.plan(goals=("goal-1", "goal-2"), reason="widened")
    cmd = evaluation_command(t.state, EvaluationOutcome.CONTINUE)
    partial = cmd.model_copy(
        update={
            "goal_results": [
                GoalResult(goal_id="goal-1", result="met"),
                GoalResult(goal_id="goal-9", result="?"),
            ]
        }
    )
    with invalid("missing: goal-2; not in the plan: goal-9"):
        record_evaluation(t.state, partial, act())


def test_w21_continue_and_revise_are_recorded_with_participants_and_results() -> None:
    t = running()
    [continued] = evaluate(t, EvaluationOutcome.CONTINUE)
    [revised] = evaluate(t.later(weeks=6), EvaluationOutcome.REVISE_PLAN)
    assert isinstance(continued, EvaluationRecorded)
    assert isinstance(revised, EvaluationRecorded)
    assert [e.outcome for e in t.state.evaluations] == ["continue", "revise_plan"]
    assert continued.participants == ["worker-0192", "ib-7731", "teacher-3"]


def test_w21_cannot_close_without_any_evaluation() -> None:
    t = running()
    with conflict("no evaluation is recorded") as refused:
        close(t)
    assert refused.value.rule == "W21"


def test_w21_cannot_close_when_the_latest_evaluation_is_not_final() -> None:
    t = running()
    evaluate(t, EvaluationOutcome.CLOSE)
    evaluate(t, EvaluationOutcome.CONTINUE)
    with conflict("decided 'continue'"):
        close(t)


def test_w21_closes_after_the_final_evaluation_and_then_takes_nothing_more() -> None:
    t = running()
    [final] = evaluate(t, EvaluationOutcome.CLOSE)
    [closed] = close(t)
    assert isinstance(closed, TrajectoryClosed)
    assert closed.final_evaluation_id == final.evaluation_id  # type: ignore[attr-defined]
    assert t.state.status == "closed"
    with conflict("was closed on") as refused:
        evaluate(t, EvaluationOutcome.CONTINUE)
    assert refused.value.rule == "W21"


def test_s_change_care_level_records_the_level_and_reason() -> None:
    t = running()
    events = evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=3, reason="More needed")
    assert isinstance(events[1], CareLevelChanged)
    assert (events[1].to_level, events[1].reason, events[1].referral) == (3, "More needed", False)
    assert t.state.care_level == 3


def test_s_change_care_level_without_level_or_reason_is_refused() -> None:
    t = running()
    with invalid("names the new level"):
        evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, reason="why")
    with invalid("needs its reason"):
        evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=2)
    with invalid("only with outcome change_care_level"):
        evaluate(t, EvaluationOutcome.CONTINUE, care_level=2)


def test_tno_escalate_outcome_escalates_to_team_no_with_details() -> None:
    t = running()
    events = evaluate(t, EvaluationOutcome.ESCALATE, escalation=escalation())
    assert isinstance(events[1], EscalatedToTeamNO)
    assert events[1].region == "waterweg"
    assert t.state.status == "escalated"
    with invalid("names the municipality"):
        evaluate(running(), EvaluationOutcome.ESCALATE)


def test_tno_no_final_evaluation_while_team_no_has_not_decided() -> None:
    t = running()
    evaluate(t, EvaluationOutcome.ESCALATE, escalation=escalation())
    with conflict("awaits the Team NO decision") as refused:
        evaluate(t, EvaluationOutcome.CLOSE)
    assert refused.value.rule == "TNO"
