"""Evaluations due: the plan's evaluation dates (W21) and the OPP twice a school year (S)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from passend_backbone.working_days import WorkingCalendar, local_day
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import EvaluationKind, EvaluationReminded
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.state import TrajectoryState

# Remind this many working days before an evaluation falls due, and once more when overdue.
REMIND_WORKING_DAYS = 5
# More calendar days than REMIND_WORKING_DAYS can span, even across the summer holiday of a
# school whose SWV counts school holidays as closed: the scheduler's prefilter.
REMIND_WINDOW = timedelta(weeks=10)
# S: an OPP drawn up late in a half school year is first evaluated in the next half.
OPP_FIRST_HALF_MARGIN = timedelta(weeks=10)


@dataclass(frozen=True, order=True)
class Due:
    due_on: date
    kind: EvaluationKind


def plan_evaluation_due(state: TrajectoryState) -> date | None:
    """W21: the next of the current plan's evaluation dates not yet met by an evaluation
    recorded since that plan revision."""
    plan = state.current_plan
    if plan is None or state.ended:
        return None
    done = state.evaluations_since_plan
    dates = sorted(plan.evaluation_dates)
    return dates[done] if done < len(dates) else None


def half_year(day: date) -> tuple[date, date]:
    """S: a school year runs 1 August - 31 July; its halves end on 31 January and 31 July."""
    if day.month >= 8:
        return date(day.year, 8, 1), date(day.year + 1, 1, 31)
    if day.month == 1:
        return date(day.year - 1, 8, 1), date(day.year, 1, 31)
    return date(day.year, 2, 1), date(day.year, 7, 31)


def opp_evaluation_due(state: TrajectoryState, today: date) -> date | None:
    """S: the OPP is evaluated twice a school year, once in each half; the due date is the
    end of the earliest half, from the OPP's first on, that has begun and has no evaluation."""
    if state.opp is None or state.ended:
        return None
    start, end = half_year(state.opp.drawn_up_on + OPP_FIRST_HALF_MARGIN)
    evaluated = [e.evaluated_on for e in state.opp_evaluations]
    while start <= today:
        if not any(start <= d <= end for d in evaluated):
            return end
        start, end = half_year(end + timedelta(days=1))
    # the next half has not begun: its end is when the next evaluation is due
    return end


def evaluations_due(state: TrajectoryState, today: date) -> list[Due]:
    """W21, S: what is to be evaluated next, and by when."""
    found = [
        Due(day, kind)
        for kind, day in (
            (EvaluationKind.PLAN, plan_evaluation_due(state)),
            (EvaluationKind.OPP, opp_evaluation_due(state, today)),
        )
        if day is not None
    ]
    return sorted(found)


def remind_from(due_on: date, calendar: WorkingCalendar) -> date:
    """W21, S: the day reminding starts, five working days before the due date, counted
    with the calendar of the case's school (its SWV's policy, its region's school
    holidays: ``passend_backbone.working_days``)."""
    return calendar.working_days_before(due_on, REMIND_WORKING_DAYS)


def due_status(due_on: date, today: date, calendar: WorkingCalendar) -> str:
    """W21, S: overdue after the day, due from the reminder on, else upcoming."""
    if due_on < today:
        return "overdue"
    if remind_from(due_on, calendar) <= today:
        return "due"
    return "upcoming"


@dataclass(frozen=True)
class RemindEvaluations:
    """Remind the worker of what is due; ``calendar`` is the one of the case's school."""

    calendar: WorkingCalendar


def reminders(state: TrajectoryState, cmd: RemindEvaluations, act: Act) -> list[EventPayload]:
    """W21, S: remind the support worker once, from five working days (of the school's
    calendar) before an evaluation falls due, and once more when it is overdue; a reminder
    given is not given again."""
    if state.opened is None or state.ended or state.case_id is None:
        return []
    today = local_day(act.at)
    given = {(r.kind, r.due_on, local_day(r.reminded_at) > r.due_on) for r in state.reminders}
    events: list[EventPayload] = []
    for due in evaluations_due(state, today):
        overdue = today > due.due_on
        reminding = remind_from(due.due_on, cmd.calendar)
        if today < reminding or (due.kind, due.due_on, overdue) in given:
            continue
        events.append(
            EvaluationReminded(
                case_id=state.case_id,
                kind=due.kind,
                due_on=due.due_on,
                worker_id=state.opened.worker_id,
                reminded_at=act.at,
            )
        )
    return events
