"""Sessions are the worker's own record behind the gates (W23); signals are acknowledged (W19)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from passend_contracts.events.trajectory import (
    ConsentStatus,
    SessionRecorded,
    SignalRaised,
    SignalRecipient,
    SignalTopic,
)
from passend_trajectory.domain.support import (
    AcknowledgeSignal,
    RaiseSignal,
    RecordSession,
    acknowledge_signal,
    record_session,
)
from tests.unit.trajectory.builders import (
    IB,
    WORKER,
    Trajectory,
    act,
    conflict,
    invalid,
    not_found,
    running,
)


def session(t: Trajectory, actor: str = WORKER, hours: float = 1.5) -> list:
    cmd = RecordSession(session_id=uuid4(), held_on=t.now.date(), hours=hours)
    return t.run(cmd, actor)


def test_w23_session_records_date_and_hours() -> None:
    t = running()
    [recorded] = session(t, hours=2.0)
    assert isinstance(recorded, SessionRecorded)
    assert (recorded.held_on, recorded.hours, recorded.worker_id) == (t.now.date(), 2.0, WORKER)


def test_w23_only_the_trajectorys_own_worker_records_sessions() -> None:
    t = running()
    with conflict("own record") as refused:
        session(t, actor="worker-other")
    assert refused.value.rule == "W23"


def test_w15_no_session_before_support_started() -> None:
    t = Trajectory().open().explore()
    t.plan()
    with conflict("support has not started"):
        session(t)


def test_w10_no_session_after_consent_withdrawal_until_consent_returns() -> None:
    t = running()
    t.later(days=3).consent(ConsentStatus.WITHDRAWN)
    with conflict("consent withdrawn on 2026-09-17") as refused:
        session(t)
    assert refused.value.rule == "W10"
    t.later(days=1).consent(ConsentStatus.CONFIRMED)
    assert session(t)


def test_w23_a_future_session_or_a_duplicate_is_refused() -> None:
    t = running()
    future = RecordSession(session_id=uuid4(), held_on=t.now.date() + timedelta(days=1), hours=1)
    with invalid():
        record_session(t.state, future, act())
    cmd = RecordSession(session_id=uuid4(), held_on=t.now.date(), hours=1)
    t.run(cmd)
    with conflict("already recorded"):
        record_session(t.state, cmd, act())


def test_w18_w19_signal_raised_and_acknowledged_once() -> None:
    t = running()
    signal_id = uuid4()
    raise_cmd = RaiseSignal(
        signal_id=signal_id,
        addressed_to=[SignalRecipient.TEACHER, SignalRecipient.IB, SignalRecipient.IB],
        about=SignalTopic.TEACHING_PRACTICE,
        description="Instructions are long and only spoken.",
    )
    [raised] = t.run(raise_cmd)
    assert isinstance(raised, SignalRaised)
    assert raised.addressed_to == [SignalRecipient.IB, SignalRecipient.TEACHER]
    ack = AcknowledgeSignal(signal_id=signal_id, response="Discussed in the team meeting")
    t.run(ack, IB)
    assert t.state.signals[0].acknowledged is not None
    assert t.state.signals[0].acknowledged.acknowledged_by == IB
    with conflict("already acknowledged") as refused:
        acknowledge_signal(t.state, ack, act(IB))
    assert refused.value.rule == "W19"


def test_w19_acknowledging_an_unknown_signal_is_not_found() -> None:
    t = running()
    with not_found():
        acknowledge_signal(t.state, AcknowledgeSignal(signal_id=uuid4()), act(IB))
