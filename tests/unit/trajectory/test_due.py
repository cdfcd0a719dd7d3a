"""Evaluations due: plan dates (W21), OPP twice a school year (S); reminded before and overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from passend_contracts.events.trajectory import EvaluationKind, EvaluationOutcome
from passend_trajectory.domain.care_level import (
    RecordOpp,
    RecordOppEvaluation,
    record_opp,
    record_opp_evaluation,
)
from passend_trajectory.domain.due import (
    due_status,
    half_year,
    opp_evaluation_due,
    plan_evaluation_due,
    remind_from,
    reminders,
)
from tests.unit.trajectory.builders import T0, act, evaluate, running


def test_w21_next_plan_evaluation_is_the_first_date_not_yet_met() -> None:
    t = running()
    start = T0.date()
    assert plan_evaluation_due(t.state) == start + timedelta(weeks=6)
    evaluate(t.later(weeks=6), EvaluationOutcome.CONTINUE)
    assert plan_evaluation_due(t.state) == start + timedelta(weeks=12)
    evaluate(t.later(weeks=6), EvaluationOutcome.REVISE_PLAN)
    t.plan(reason="revised after evaluation")  # a new plan brings its own dates
    assert plan_evaluation_due(t.state) == t.now.date() + timedelta(weeks=6)


def test_s_school_year_halves() -> None:
    assert half_year(date(2026, 9, 1)) == (date(2026, 8, 1), date(2027, 1, 31))
    assert half_year(date(2027, 1, 5)) == (date(2026, 8, 1), date(2027, 1, 31))
    assert half_year(date(2027, 3, 5)) == (date(2027, 2, 1), date(2027, 7, 31))


def test_s_opp_is_evaluated_in_each_half_of_the_school_year() -> None:
    t = running()
    t.run(lambda s: record_opp(s, RecordOpp(drawn_up_on=date(2026, 9, 1)), act()))
    assert opp_evaluation_due(t.state, date(2026, 9, 14)) == date(2027, 1, 31)
    late = act(at=datetime(2026, 12, 1, tzinfo=UTC))
    cmd = RecordOppEvaluation(evaluated_on=date(2026, 11, 30), summary="on track")
    t.run(lambda s: record_opp_evaluation(s, cmd, late))
    assert opp_evaluation_due(t.state, date(2026, 12, 2)) == date(2027, 7, 31)
    # a half without an evaluation stays due, and is overdue once it has ended
    assert opp_evaluation_due(t.state, date(2027, 9, 1)) == date(2027, 7, 31)


def test_s_opp_drawn_up_late_in_a_half_is_first_due_in_the_next() -> None:
    early, late = running(), running()
    early.run(lambda s: record_opp(s, RecordOpp(drawn_up_on=date(2026, 9, 10)), act()))
    at = act(at=datetime(2026, 12, 21, tzinfo=UTC))
    late.run(lambda s: record_opp(s, RecordOpp(drawn_up_on=date(2026, 12, 20)), at))
    assert opp_evaluation_due(early.state, date(2026, 12, 21)) == date(2027, 1, 31)
    assert opp_evaluation_due(late.state, date(2026, 12, 21)) == date(2027, 7, 31)


def test_w21_reminded_once_before_due_and_once_when_overdue() -> None:
    t = running()
    due = T0.date() + timedelta(weeks=6)
    too_early = act(at=T0 + timedelta(weeks=4))
    assert reminders(t.state, too_early) == []
    week_before = act(at=datetime.combine(due - timedelta(days=3), T0.time(), UTC))
    [reminded] = t.run(lambda s: reminders(s, week_before))
    assert (reminded.kind, reminded.due_on) == (EvaluationKind.PLAN, due)  # type: ignore[attr-defined]
    assert reminders(t.state, week_before) == []
    overdue = act(at=datetime.combine(due + timedelta(days=1), T0.time(), UTC))
    [again] = t.run(lambda s: reminders(s, overdue))
    assert again.due_on == due  # type: ignore[attr-defined]
    assert reminders(t.state, overdue) == []


def test_w21_reminding_starts_five_dutch_working_days_before() -> None:
    # King's Day (27 April 2027, a Tuesday) and the weekend don't count.
    assert remind_from(date(2027, 4, 29)) == date(2027, 4, 21)
    assert remind_from(date(2026, 10, 26)) == date(2026, 10, 19)
    assert due_status(date(2027, 4, 29), date(2027, 4, 20)) == "upcoming"
    assert due_status(date(2027, 4, 29), date(2027, 4, 21)) == "due"
    assert due_status(date(2027, 4, 29), date(2027, 4, 30)) == "overdue"
