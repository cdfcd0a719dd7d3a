"""During support: sessions (W22, W23) and signals to teacher and IB (W18, W19)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import (
    SessionRecorded,
    SignalAcknowledged,
    SignalRaised,
    SignalRecipient,
    SignalTopic,
)
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.gates import consent_gate, plan_gate
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


class RecordSession(Command):
    session_id: UUID
    held_on: date
    hours: float = Field(gt=0, le=24)
    findings: str = ""


def record_session(state: TrajectoryState, cmd: RecordSession, act: Act) -> list[EventPayload]:
    """W23: the support worker's own record of a session, with date and hours; only after
    support started (W15), and for individual support only while consent holds (W10)."""
    require_open(state)
    assert state.case_id is not None
    assert state.opened is not None
    if state.opened.worker_id != act.actor:
        raise Refusal.conflict(
            "W23", "sessions are the own record of the support worker who leads the support"
        )
    plan_gate(state)
    if state.support is None:
        raise Refusal.conflict("W15", "support has not started: start it once its gates pass")
    consent_gate(state)
    if cmd.held_on > act.today:
        raise Refusal.invalid("W23", "a session is recorded once it has been held")
    if any(s.session_id == cmd.session_id for s in state.sessions):
        raise Refusal.conflict("W23", f"session {cmd.session_id} is already recorded")
    return [
        SessionRecorded(
            case_id=state.case_id,
            session_id=cmd.session_id,
            worker_id=act.actor,
            held_on=cmd.held_on,
            hours=cmd.hours,
            findings=cmd.findings,
            recorded_at=act.at,
        )
    ]


class RaiseSignal(Command):
    signal_id: UUID
    addressed_to: list[SignalRecipient] = Field(min_length=1)
    about: SignalTopic
    description: str = Field(min_length=1)


def raise_signal(state: TrajectoryState, cmd: RaiseSignal, act: Act) -> list[EventPayload]:
    """W18, W19: a signal to teacher and/or IB when practice or the school's offer doesn't fit."""
    require_open(state)
    assert state.case_id is not None
    if any(s.raised.signal_id == cmd.signal_id for s in state.signals):
        raise Refusal.conflict("W18", f"signal {cmd.signal_id} is already raised")
    return [
        SignalRaised(
            case_id=state.case_id,
            signal_id=cmd.signal_id,
            addressed_to=sorted(set(cmd.addressed_to)),
            about=cmd.about,
            description=cmd.description,
            raised_by=act.actor,
            raised_at=act.at,
        )
    ]


class SignalResponse(Command):
    """The body of an acknowledgement: what the school answers, if anything."""

    response: str | None = None


class AcknowledgeSignal(Command):
    signal_id: UUID
    response: str | None = None


def acknowledge_signal(
    state: TrajectoryState, cmd: AcknowledgeSignal, act: Act
) -> list[EventPayload]:
    """W19: the school acknowledges a signal, once; what it does with it is its own call."""
    require_open(state)
    assert state.case_id is not None
    signal_id = cmd.signal_id
    signal = next((s for s in state.signals if s.raised.signal_id == signal_id), None)
    if signal is None:
        raise Refusal.not_found("W19", f"no signal {signal_id} in this case")
    if signal.acknowledged is not None:
        raise Refusal.conflict(
            "W19",
            f"signal {signal_id} was already acknowledged on "
            f"{signal.acknowledged.acknowledged_at.date().isoformat()}",
        )
    return [
        SignalAcknowledged(
            case_id=state.case_id,
            signal_id=signal_id,
            acknowledged_by=act.actor,
            response=cmd.response,
            acknowledged_at=act.at,
        )
    ]
