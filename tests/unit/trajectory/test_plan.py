"""Start conversation and plan (W6, W7, W15-W17, W20): revisions keep the earlier plans."""

from __future__ import annotations

from datetime import UTC, date, datetime

from passend_contracts.events.intake import SupportLevel
from passend_trajectory.domain.exploration import RecordStartConversation, record_start_conversation
from passend_trajectory.domain.plan import record_plan
from tests.unit.trajectory.builders import (
    WORKER,
    Trajectory,
    act,
    conflict,
    invalid,
    not_found,
    plan_command,
)


def test_w25_no_trajectory_before_a_claim() -> None:
    t = Trajectory()
    with not_found("opens once a support worker claims"):
        t.explore()


def test_w6_plan_needs_the_start_conversation_first() -> None:
    t = Trajectory().open()
    with conflict("no start conversation") as refused:
        t.plan()
    assert refused.value.rule == "W6"


def test_w6_start_conversation_records_the_sharpened_question_and_widened_levels() -> None:
    t = Trajectory().open().explore()
    conversation = t.state.start_conversation
    assert conversation is not None
    assert conversation.levels == [SupportLevel.PUPIL, SupportLevel.TEACHER]  # W17
    with conflict("already recorded"):
        t.explore()


def test_w6_a_start_conversation_in_the_future_is_refused() -> None:
    t = Trajectory().open()
    cmd = RecordStartConversation(
        participants=[WORKER],
        sharpened_question="q",
        levels=[SupportLevel.PUPIL],
        held_on=t.now.date().replace(year=2027),
    )
    with invalid():
        record_start_conversation(t.state, cmd, act())


def test_w6_a_start_conversation_held_today_counts_by_the_dutch_day() -> None:
    """Just after midnight in the Netherlands UTC is still on yesterday: today's
    conversation is not in the future (and tomorrow's still is)."""
    t = Trajectory().open()
    # 00:30 on 15 September in Amsterdam (CEST) is 22:30 UTC on 14 September.
    just_after_midnight = act(at=datetime(2026, 9, 14, 22, 30, tzinfo=UTC))

    def held_on(day: date) -> RecordStartConversation:
        return RecordStartConversation(
            participants=[WORKER], sharpened_question="q", levels=[SupportLevel.PUPIL], held_on=day
        )

    recorded = record_start_conversation(t.state, held_on(date(2026, 9, 15)), just_after_midnight)
    assert len(recorded) == 1
    with invalid("before it is held"):
        record_start_conversation(t.state, held_on(date(2026, 9, 16)), just_after_midnight)


def test_w15_revision_keeps_the_earlier_plan_and_needs_a_reason() -> None:
    t = Trajectory().open().explore()
    t.plan(goals=("goal-1",))
    with invalid("needs the reason"):
        t.plan(goals=("goal-2",))
    t.plan(goals=("goal-1", "goal-2"), reason="Evaluation showed reading needs a goal too")
    assert [p.revision for p in t.state.plans] == [1, 2]
    assert [g.goal_id for g in t.state.plans[0].goals] == ["goal-1"]
    assert t.state.current_plan is not None
    assert [g.goal_id for g in t.state.current_plan.goals] == ["goal-1", "goal-2"]


def test_w15_goal_ids_are_unique_and_targets_not_in_the_past() -> None:
    t = Trajectory().open().explore()
    with invalid("own goal_id"):
        t.plan(goals=("g", "g"))
    late = act(at=t.now.replace(year=2027))
    with invalid("in the past"):
        record_plan(t.state, plan_command(t.now.date()), late)


def test_w20_plan_carries_how_results_are_secured() -> None:
    t = Trajectory().open().explore()
    t.plan()
    assert t.state.current_plan is not None
    assert t.state.current_plan.securing == "the approach goes into the group plan"
