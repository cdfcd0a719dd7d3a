"""``evolve``: one event folded into the trajectory state; ``replay`` folds a whole stream."""

from __future__ import annotations

from collections.abc import Iterable
from functools import singledispatch
from typing import Any

from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import (
    AdviserInvited,
    CareLevelChanged,
    CaseDirectorChanged,
    ComplexityNoted,
    ConsentNoted,
    EscalatedToTeamNO,
    EvaluationRecorded,
    EvaluationReminded,
    MeasureTried,
    OppEvaluated,
    OppRecorded,
    PlanRecorded,
    PupilGroupNoted,
    ReflectionRecorded,
    SessionRecorded,
    SignalAcknowledged,
    SignalRaised,
    SpecialistAnalysisRecorded,
    StartConversationRecorded,
    SupportStarted,
    TeamNODecisionRecorded,
    TrajectoryClosed,
    TrajectoryOpened,
    TrajectoryPaused,
    TrajectoryResumed,
    TrajectoryWithdrawn,
    YouthCareNoted,
)
from passend_trajectory.domain.case_director import derive_director
from passend_trajectory.domain.state import Escalation, Signal, TrajectoryState


def evolve(state: TrajectoryState, event: EventPayload | None) -> TrajectoryState:
    """The state after ``event``; an event of a type it doesn't know (None, or a type without
    a rule here) only counts as a version."""
    changes = _changes(event, state) if event is not None else {}
    case_id = getattr(event, "case_id", None)
    if state.case_id is None and case_id is not None:
        changes["case_id"] = case_id
    changes["version"] = state.version + 1
    return state.model_copy(update=changes)


def replay(
    events: Iterable[EventPayload | None], state: TrajectoryState | None = None
) -> TrajectoryState:
    """Fold ``events`` in order, from ``state`` or from the empty trajectory."""
    result = state or TrajectoryState()
    for event in events:
        result = evolve(result, event)
    return result


@singledispatch
def _changes(event: EventPayload, state: TrajectoryState) -> dict[str, Any]:
    return {}


@_changes.register
def _(event: TrajectoryOpened, state: TrajectoryState) -> dict[str, Any]:
    return {"opened": event}


@_changes.register
def _(event: ConsentNoted, state: TrajectoryState) -> dict[str, Any]:
    return {"consent": event}


@_changes.register
def _(event: ComplexityNoted, state: TrajectoryState) -> dict[str, Any]:
    return {"complexity": (*state.complexity, event)}


@_changes.register
def _(event: StartConversationRecorded, state: TrajectoryState) -> dict[str, Any]:
    if event.group is None:
        return {"start_conversation": event}
    return {"start_conversation": event, "group": event.group}


@_changes.register
def _(event: PupilGroupNoted, state: TrajectoryState) -> dict[str, Any]:
    return {"group": event.group}


@_changes.register
def _(event: MeasureTried, state: TrajectoryState) -> dict[str, Any]:
    return {"measures": (*state.measures, event)}


@_changes.register
def _(event: ReflectionRecorded, state: TrajectoryState) -> dict[str, Any]:
    return {"reflections": (*state.reflections, event)}


@_changes.register
def _(event: AdviserInvited, state: TrajectoryState) -> dict[str, Any]:
    return {"invitations": (*state.invitations, event)}


@_changes.register
def _(event: SpecialistAnalysisRecorded, state: TrajectoryState) -> dict[str, Any]:
    return {"specialist_analysis": event}


@_changes.register
def _(event: PlanRecorded, state: TrajectoryState) -> dict[str, Any]:
    return {"plans": (*state.plans, event), "evaluations_since_plan": 0}


@_changes.register
def _(event: SupportStarted, state: TrajectoryState) -> dict[str, Any]:
    return {"support": event}


@_changes.register
def _(event: TrajectoryPaused, state: TrajectoryState) -> dict[str, Any]:
    return {"paused": event}


@_changes.register
def _(event: TrajectoryResumed, state: TrajectoryState) -> dict[str, Any]:
    return {"paused": None}


@_changes.register
def _(event: SessionRecorded, state: TrajectoryState) -> dict[str, Any]:
    return {"sessions": (*state.sessions, event)}


@_changes.register
def _(event: SignalRaised, state: TrajectoryState) -> dict[str, Any]:
    return {"signals": (*state.signals, Signal(raised=event))}


@_changes.register
def _(event: SignalAcknowledged, state: TrajectoryState) -> dict[str, Any]:
    signals = tuple(
        s.model_copy(update={"acknowledged": event})
        if s.raised.signal_id == event.signal_id and s.acknowledged is None
        else s
        for s in state.signals
    )
    return {"signals": signals}


@_changes.register
def _(event: EvaluationRecorded, state: TrajectoryState) -> dict[str, Any]:
    return {
        "evaluations": (*state.evaluations, event),
        "evaluations_since_plan": state.evaluations_since_plan + 1,
    }


@_changes.register
def _(event: CareLevelChanged, state: TrajectoryState) -> dict[str, Any]:
    return {"care_levels": (*state.care_levels, event)}


@_changes.register
def _(event: OppRecorded, state: TrajectoryState) -> dict[str, Any]:
    return {"opp": event}


@_changes.register
def _(event: OppEvaluated, state: TrajectoryState) -> dict[str, Any]:
    return {"opp_evaluations": (*state.opp_evaluations, event)}


@_changes.register
def _(event: YouthCareNoted, state: TrajectoryState) -> dict[str, Any]:
    return {"youth_care": event}


@_changes.register
def _(event: CaseDirectorChanged, state: TrajectoryState) -> dict[str, Any]:
    derived = derive_director(state)
    return {
        "directors": (*state.directors, event),
        "director_basis": (derived.role, derived.person_id),
    }


@_changes.register
def _(event: EscalatedToTeamNO, state: TrajectoryState) -> dict[str, Any]:
    return {"escalations": (*state.escalations, Escalation(escalated=event))}


@_changes.register
def _(event: TeamNODecisionRecorded, state: TrajectoryState) -> dict[str, Any]:
    escalations = list(state.escalations)
    if escalations and escalations[-1].decision is None:
        escalations[-1] = escalations[-1].model_copy(update={"decision": event})
    return {"escalations": tuple(escalations)}


@_changes.register
def _(event: EvaluationReminded, state: TrajectoryState) -> dict[str, Any]:
    return {"reminders": (*state.reminders, event)}


@_changes.register
def _(event: TrajectoryClosed, state: TrajectoryState) -> dict[str, Any]:
    return {"closed": event}


@_changes.register
def _(event: TrajectoryWithdrawn, state: TrajectoryState) -> dict[str, Any]:
    return {"withdrawn": event}
