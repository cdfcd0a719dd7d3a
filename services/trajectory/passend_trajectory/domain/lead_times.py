"""How long each phase of a trajectory took, in days, and the SWV's figures per phase.

Assignment measures up to the first contact (W26); from the opened trajectory on, the
phases are the werkwijzer's steps: start conversation (W6), plan (W15), start of the
support (W16), first evaluation (W21), closing (W21), and Team NO's decision (TNO).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from statistics import mean, median

from passend_backbone.working_days import AMSTERDAM, local_day
from passend_trajectory.domain.state import TrajectoryState

# Phase -> (from, to) in a school's words; the order is the route's.
PHASES: dict[str, str] = {
    "to_start_conversation": "opened -> start conversation held",
    "to_plan": "start conversation -> first plan",
    "to_support": "first plan -> support started",
    "to_first_evaluation": "support started -> first evaluation",
    "opened_to_closed": "opened -> closed",
    "team_no_decision": "escalated to Team NO -> decision",
}
SECONDS_PER_DAY = 86_400


def _moment(value: date | datetime) -> datetime:
    """A day counts from its start in Dutch time, a moment as itself."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=AMSTERDAM)


def _days(start: date | datetime | None, end: date | datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (_moment(end) - _moment(start)).total_seconds() / SECONDS_PER_DAY)


def phase_days(state: TrajectoryState) -> dict[str, float]:
    """W6, W15, W16, W21, TNO: the days each finished phase of one trajectory took.

    A phase that has not ended yet (or whose start never happened) is left out. Team NO's
    decision counts each decided escalation; the figure is their average for the case.
    """
    opened = state.opened.opened_at if state.opened else None
    conversation = state.start_conversation.held_on if state.start_conversation else None
    plan = state.plans[0].recorded_at if state.plans else None
    support = state.support.started_at if state.support else None
    evaluation = state.evaluations[0].evaluated_at if state.evaluations else None
    closed = state.closed.closed_at if state.closed else None
    decisions = [
        _days(e.escalated.escalated_at, e.decision.decided_at)
        for e in state.escalations
        if e.decision is not None
    ]
    found = {
        "to_start_conversation": _days(opened, conversation),
        "to_plan": _days(conversation, plan),
        "to_support": _days(plan, support),
        "to_first_evaluation": _days(support, evaluation),
        "opened_to_closed": _days(opened, closed),
        "team_no_decision": mean(d for d in decisions if d is not None) if decisions else None,
    }
    return {phase: round(days, 2) for phase, days in found.items() if days is not None}


@dataclass(frozen=True)
class PhaseFigures:
    phase: str
    cases: int
    avg_days: float | None
    median_days: float | None


def summarise(per_case: Iterable[Mapping[str, float]]) -> list[PhaseFigures]:
    """Per phase, in the route's order: how many cases finished it, average and median."""
    collected: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for days in per_case:
        for phase, value in days.items():
            collected.setdefault(phase, []).append(value)
    return [
        PhaseFigures(
            phase,
            len(values),
            round(mean(values), 2) if values else None,
            round(median(values), 2) if values else None,
        )
        for phase, values in collected.items()
    ]


def opened_on(state: TrajectoryState) -> date | None:
    """The Dutch day the trajectory opened: what a period filter counts by."""
    return local_day(state.opened.opened_at) if state.opened else None
