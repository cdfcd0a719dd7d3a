"""Evaluations due: plan dates (W21), OPP twice a school year (S); reminded before and overdue,
counting the working days of the case's school (its SWV's policy, its region's holidays)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from passend_backbone.working_days import calendar_for
from passend_contracts.events.assignment import CalendarPolicy, HolidayPeriod
from passend_contracts.events.trajectory import EvaluationKind, EvaluationOutcome
from passend_trajectory.domain.care_level import RecordOpp, RecordOppEvaluation
from passend_trajectory.domain.due import (
    RemindEvaluations,
    due_status,
    half_year,
    opp_evaluation_due,
    plan_evaluation_due,
    remind_from,
    reminders,
)
from tests.unit.trajectory.builders import (
    T0,
    Trajectory,
    act,
    evaluate,
    plan_command,
    running,
)

DEFAULTS = calendar_for()
REMIND = RemindEvaluations(DEFAULTS)


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
    t.run(RecordOpp(drawn_up_on=date(2026, 9, 1)))
    assert opp_evaluation_due(t.state, date(2026, 9, 14)) == date(2027, 1, 31)
    cmd = RecordOppEvaluation(evaluated_on=date(2026, 11, 30), summary="on track")
    t.run(cmd, at=datetime(2026, 12, 1, tzinfo=UTC))
    assert opp_evaluation_due(t.state, date(2026, 12, 2)) == date(2027, 7, 31)
    # a half without an evaluation stays due, and is overdue once it has ended
    assert opp_evaluation_due(t.state, date(2027, 9, 1)) == date(2027, 7, 31)


def test_s_opp_drawn_up_late_in_a_half_is_first_due_in_the_next() -> None:
    early, late = running(), running()
    early.run(RecordOpp(drawn_up_on=date(2026, 9, 10)))
    late.run(RecordOpp(drawn_up_on=date(2026, 12, 20)), at=datetime(2026, 12, 21, tzinfo=UTC))
    assert opp_evaluation_due(early.state, date(2026, 12, 21)) == date(2027, 1, 31)
    assert opp_evaluation_due(late.state, date(2026, 12, 21)) == date(2027, 7, 31)


def test_w21_reminded_once_before_due_and_once_when_overdue() -> None:
    t = running()
    due = T0.date() + timedelta(weeks=6)
    too_early = T0 + timedelta(weeks=4)
    assert reminders(t.state, REMIND, act(at=too_early)) == []
    week_before = datetime.combine(due - timedelta(days=3), T0.time(), UTC)
    [reminded] = t.run(REMIND, at=week_before)
    assert (reminded.kind, reminded.due_on) == (EvaluationKind.PLAN, due)  # type: ignore[attr-defined]
    assert reminders(t.state, REMIND, act(at=week_before)) == []
    overdue = datetime.combine(due + timedelta(days=1), T0.time(), UTC)
    [again] = t.run(REMIND, at=overdue)
    assert again.due_on == due  # type: ignore[attr-defined]
    assert reminders(t.state, REMIND, act(at=overdue)) == []


def test_w21_reminding_starts_five_dutch_working_days_before() -> None:
    # King's Day (27 April 2027, a Tuesday) and the weekend don't count.
    assert remind_from(date(2027, 4, 29), DEFAULTS) == date(2027, 4, 21)
    assert remind_from(date(2026, 10, 26), DEFAULTS) == date(2026, 10, 19)
    assert due_status(date(2027, 4, 29), date(2027, 4, 20), DEFAULTS) == "upcoming"
    assert due_status(date(2027, 4, 29), date(2027, 4, 21), DEFAULTS) == "due"
    assert due_status(date(2027, 4, 29), date(2027, 4, 30), DEFAULTS) == "overdue"


def planned_with_evaluation_on(due_on: date) -> Trajectory:
    """A trajectory in support whose plan is evaluated on ``due_on``."""
    t = Trajectory().open().explore()
    t.run(plan_command(t.now.date()).model_copy(update={"evaluation_dates": [due_on]}))
    t.consent()
    t.start()
    return t


# Easter 2027: Good Friday 26 March, Easter Monday 29 March.
EASTER_DUE = date(2027, 4, 1)  # a Thursday


def test_w21_s_a_reminder_across_good_friday_counts_the_swvs_policy() -> None:
    """W21, S: Good Friday is closed by default, so reminding starts a day earlier than for
    an SWV whose schools work on Good Friday; Easter Monday never counts."""
    closed = calendar_for()
    working = calendar_for(CalendarPolicy(good_friday="working"))
    # 31, 30 March; Easter Monday, the weekend and Good Friday skipped; 25, 24, 23 March.
    assert remind_from(EASTER_DUE, closed) == date(2027, 3, 23)
    # 31, 30, 26 (Good Friday works), 25, 24 March.
    assert remind_from(EASTER_DUE, working) == date(2027, 3, 24)
    t = planned_with_evaluation_on(EASTER_DUE)
    on_the_23rd = datetime(2027, 3, 23, 9, 0, tzinfo=UTC)
    assert reminders(t.state, RemindEvaluations(working), act(at=on_the_23rd)) == []
    [reminded] = t.run(RemindEvaluations(closed), at=on_the_23rd)
    assert reminded.due_on == EASTER_DUE  # type: ignore[attr-defined]


AUTUMN = HolidayPeriod(
    name="herfstvakantie", first_day=date(2026, 10, 17), last_day=date(2026, 10, 25)
)
AFTER_AUTUMN = date(2026, 10, 28)  # a Wednesday


def test_w21_s_a_reminder_across_the_regions_school_holiday_starts_before_it() -> None:
    """W21, S: the school holiday of the school's region stops the clock (the default), so
    the reminder comes before the holiday; where the SWV counts holidays as working days,
    or the school has no holidays known, five weekdays before."""
    school = calendar_for(school_holidays=[AUTUMN])
    works_in_holidays = calendar_for(CalendarPolicy(school_holidays="working"), [AUTUMN])
    # 27, 26 October; the holiday (17-25) skipped; 16, 15, 14 October.
    assert remind_from(AFTER_AUTUMN, school) == date(2026, 10, 14)
    assert remind_from(AFTER_AUTUMN, works_in_holidays) == date(2026, 10, 21)
    assert remind_from(AFTER_AUTUMN, calendar_for()) == date(2026, 10, 21)
    assert due_status(AFTER_AUTUMN, date(2026, 10, 16), school) == "due"
    assert due_status(AFTER_AUTUMN, date(2026, 10, 16), works_in_holidays) == "upcoming"
    t = planned_with_evaluation_on(AFTER_AUTUMN)
    before_the_holiday = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)
    assert reminders(t.state, REMIND, act(at=before_the_holiday)) == []
    [reminded] = t.run(RemindEvaluations(school), at=before_the_holiday)
    assert reminded.due_on == AFTER_AUTUMN  # type: ignore[attr-defined]
