"""The gates before support: a plan (W15), consent (W10), the specialist's analysis (W14)."""

from __future__ import annotations

from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import SpecialistRequired
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestSubmitted
from passend_contracts.events.trajectory import (
    ConsentStatus,
    SupportStarted,
    TrajectoryPaused,
    TrajectoryResumed,
)
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


def consent_gate(state: TrajectoryState) -> None:
    """W10: individual support for a pupil needs consent recorded and not withdrawn."""
    if not state.individual:
        return
    consent = state.consent
    if consent is None:
        raise Refusal.conflict(
            "W10",
            "no parental consent recorded: the school records the parents' consent before "
            "individual support for the pupil starts",
        )
    if consent.status is not ConsentStatus.CONFIRMED:
        raise Refusal.conflict(
            "W10",
            f"consent {consent.status.value} on {consent.at.date().isoformat()}: record new "
            "consent before the next session",
        )


# What marked a case complex, in words: a refusal names no internal event type (issue 24).
_MARKED_BY = {
    RequestSubmitted.event_type: "the school's request names multiple problems",
    SpecialistRequired.event_type: "the education specialist was required when the case was routed",
}


def complex_by(source: str) -> str:
    """What marked the case complex, for a person (``source`` is an event type)."""
    return _MARKED_BY.get(source, "marked by another service")


def specialist_gate(state: TrajectoryState) -> None:
    """W14: support for a complex case doesn't start before the education specialist's
    analysis ("alvorens er ondersteuning geboden wordt"); the plan may come first. The
    refusal says in words what marked the case complex, never an event type."""
    if state.complex and state.specialist_analysis is None:
        marked_by = "; ".join(sorted({complex_by(c.source) for c in state.complexity}))
        raise Refusal.conflict(
            "W14",
            f"the case is marked complex ({marked_by}): the education specialist's analysis "
            "must be recorded before support starts",
        )


def plan_gate(state: TrajectoryState) -> None:
    """W15: support follows a plan agreed jointly."""
    if state.current_plan is None:
        raise Refusal.conflict("W15", "no plan recorded: support starts from an agreed plan")


class StartSupport(Command):
    """Start the support the current plan describes (no body)."""


def start_support(state: TrajectoryState, cmd: StartSupport, act: Act) -> list[EventPayload]:
    """W15, W10, W14, TNO: support starts once every gate is passed, and not while Team NO
    has an escalation to decide; each refusal names its rule."""
    require_open(state)
    assert state.case_id is not None
    if state.support is not None:
        raise Refusal.conflict(
            "W15", f"support already started on {state.support.started_at.date().isoformat()}"
        )
    if state.open_escalation is not None:
        raise Refusal.conflict("TNO", "the case awaits the Team NO decision")
    plan_gate(state)
    specialist_gate(state)
    consent_gate(state)
    return [
        SupportStarted(
            case_id=state.case_id,
            individual=state.individual,
            started_by=act.actor,
            started_at=act.at,
        )
    ]


def pause_follow_up(state: TrajectoryState, act: Act) -> list[EventPayload]:
    """W10: running individual support is paused exactly while consent is missing or
    withdrawn, whether consent changed or a plan revision made the support individual."""
    if state.support is None or state.ended or state.case_id is None:
        return []
    should_pause = state.individual and not state.consent_active
    if should_pause and state.paused is None:
        consent = state.consent
        reason = (
            f"consent {consent.status.value} on {consent.at.date().isoformat()}"
            if consent is not None
            else "no consent recorded for individual support"
        )
        return [
            TrajectoryPaused(
                case_id=state.case_id,
                rule="W10",
                reason=f"{reason}: individual support pauses until consent is recorded",
                paused_at=act.at,
            )
        ]
    if not should_pause and state.paused is not None:
        consent = state.consent
        reason = (
            f"consent confirmed on {consent.at.date().isoformat()}"
            if state.individual and consent is not None
            else "the plan no longer supports the pupil individually"
        )
        return [TrajectoryResumed(case_id=state.case_id, reason=reason, resumed_at=act.at)]
    return []
