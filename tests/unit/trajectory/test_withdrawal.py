"""W1: the school's withdrawal of the request ends the trajectory, whatever the order of arrival."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

import pytest

from passend_backbone.working_days import calendar_for
from passend_contracts.events.trajectory import (
    ConsentStatus,
    EscalatedToTeamNO,
    EvaluationOutcome,
    InvitationOccasion,
    SignalRecipient,
    SignalTopic,
    TrajectoryOpened,
    TrajectoryWithdrawn,
)
from passend_trajectory.domain.advisers import InviteAdviser
from passend_trajectory.domain.care_level import RecordOpp
from passend_trajectory.domain.case_director import NoteYouthCare
from passend_trajectory.domain.classroom import NotePupilGroup, RecordMeasure
from passend_trajectory.domain.due import RemindEvaluations, evaluations_due
from passend_trajectory.domain.evaluation import CloseTrajectory
from passend_trajectory.domain.exploration import RecordSpecialistAnalysis
from passend_trajectory.domain.gates import StartSupport
from passend_trajectory.domain.support import RaiseSignal, RecordSession
from passend_trajectory.domain.team_no import Escalate, RecordTeamNODecision
from tests.unit.trajectory.builders import (
    IB,
    SPECIALIST,
    T0,
    Trajectory,
    conflict,
    escalation,
    evaluate,
    plan_command,
    running,
)


def test_w1_a_withdrawal_ends_a_running_trajectory_for_good() -> None:
    t = running()
    [withdrawn] = t.later(days=2).withdraw()
    assert isinstance(withdrawn, TrajectoryWithdrawn)
    assert withdrawn.withdrawn_at == T0 + timedelta(days=2)
    assert (withdrawn.withdrawn_by, withdrawn.reason) == (IB, "Solved within basic support.")
    assert t.state.status == "withdrawn"
    assert t.state.ended
    # A withdrawal is no pause (W10 pauses): new consent doesn't bring the support back.
    assert t.consent(ConsentStatus.WITHDRAWN)[-1].event_type.endswith("ConsentNoted.v1")
    assert len(t.consent(ConsentStatus.CONFIRMED)) == 1
    assert t.state.status == "withdrawn"
    assert t.state.paused is None


def _steps() -> dict[str, Callable[[Trajectory], object]]:
    def session(t: Trajectory) -> object:
        return t.run(RecordSession(session_id=uuid4(), held_on=t.now.date(), hours=1))

    def signal(t: Trajectory) -> object:
        cmd = RaiseSignal(
            signal_id=uuid4(),
            addressed_to=[SignalRecipient.IB],
            about=SignalTopic.SCHOOL_OFFER,
            description="The offer does not fit.",
        )
        return t.run(cmd)

    def invite(t: Trajectory) -> object:
        cmd = InviteAdviser(
            invitation_id=uuid4(),
            adviser_id="os-marleen",
            goal="Agree on the next step.",
            occasion=InvitationOccasion.WARNING_SIGN,
            meeting_on=t.now.date(),
        )
        return t.run(cmd, IB)

    def measure(t: Trajectory) -> object:
        cmd = RecordMeasure(
            measure_id=uuid4(),
            description="A timer on the desk.",
            tried_from=t.now.date(),
            observations="Starts sooner.",
        )
        return t.run(cmd, "teacher-3")

    return {
        "plan": lambda t: t.run(plan_command(t.now.date(), reason="revised")),
        "start support": lambda t: t.run(StartSupport()),
        "session": session,
        "signal": signal,
        "evaluation": lambda t: evaluate(t, EvaluationOutcome.CONTINUE),
        "close": lambda t: t.run(CloseTrajectory()),
        "analysis": lambda t: t.run(RecordSpecialistAnalysis(analysis="x"), SPECIALIST),
        "opp": lambda t: t.run(RecordOpp(drawn_up_on=t.now.date())),
        "youth care": lambda t: t.run(NoteYouthCare(reason="youth care needed")),
        "escalation": lambda t: t.run(
            Escalate(
                escalation_id=uuid4(),
                municipality="GM0622",
                reasons=["waiting_list"],
                draft_plan="d",
                region="waterweg",
            )
        ),
        "group": lambda t: t.run(NotePupilGroup(group="groep 6"), IB),
        "measure": measure,
        "invitation": invite,
    }


@pytest.mark.parametrize("step", sorted(_steps()))
def test_w1_every_step_after_the_withdrawal_is_refused_naming_its_date(step: str) -> None:
    t = running()
    t.later(days=1).withdraw()
    before = t.state
    with conflict("the school withdrew the request on 2026-09-15") as refused:
        _steps()[step](t.later(hours=1))
    assert refused.value.rule == "W1"
    assert t.state == before


def test_w1_the_withdrawal_wins_whatever_arrives_first_the_claim_or_the_withdrawal() -> None:
    claim_first = Trajectory().open()
    claim_first.withdraw()
    withdrawal_first = Trajectory()
    withdrawal_first.withdraw()
    assert withdrawal_first.state.status == "withdrawn"  # noted before any claim
    opened = withdrawal_first.open().events[-1]
    # The claim happened, so the trajectory opens; it is withdrawn all the same.
    assert isinstance(opened, TrajectoryOpened)
    for t in (claim_first, withdrawal_first):
        assert t.state.status == "withdrawn"
        assert t.state.withdrawn is not None
        assert t.state.withdrawn.withdrawn_at == T0
        assert t.state.opened is not None
    with conflict("withdrew the request on 2026-09-14"):
        withdrawal_first.explore()


def test_w1_a_withdrawal_racing_a_plan_or_a_session_leaves_them_on_record_before_it() -> None:
    t = running()
    t.run(RecordSession(session_id=uuid4(), held_on=t.now.date(), hours=1))
    t.withdraw()
    assert len(t.state.sessions) == 1
    assert t.state.status == "withdrawn"


def test_w1_a_withdrawal_is_noted_once() -> None:
    t = running()
    t.withdraw()
    assert t.withdraw() == []
    assert t.withdraw(at=T0 + timedelta(days=3)) == []
    assert t.state.withdrawn is not None and t.state.withdrawn.withdrawn_at == T0


def test_w21_a_trajectory_closed_after_its_final_evaluation_keeps_that_closing() -> None:
    t = running()
    evaluate(t, EvaluationOutcome.CLOSE)
    t.run(CloseTrajectory())
    assert t.withdraw() == []
    assert t.state.status == "closed"


def test_w1_w21_nothing_falls_due_and_no_reminder_follows_a_withdrawal() -> None:
    t = running()
    t.withdraw()
    today = t.now.date() + timedelta(weeks=6)
    assert evaluations_due(t.state, today) == []
    assert t.later(weeks=6).run(RemindEvaluations(calendar_for()), "trajectory") == []


def test_w1_tno_a_pending_escalation_awaits_no_decision_once_withdrawn() -> None:
    t = running()
    events = evaluate(t, EvaluationOutcome.ESCALATE, escalation=escalation())
    assert isinstance(events[1], EscalatedToTeamNO)
    t.withdraw()
    with conflict("withdrew the request") as refused:
        t.run(RecordTeamNODecision(decision="d", assignment="a", provider="p"), "team-no")
    assert refused.value.rule == "W1"
