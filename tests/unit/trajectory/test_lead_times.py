"""Days per phase of the route after the first contact (W6, W15, W16, W21, TNO)."""

from __future__ import annotations

from passend_contracts.events.trajectory import EvaluationOutcome
from passend_trajectory.domain.evaluation import CloseTrajectory
from passend_trajectory.domain.lead_times import PHASES, PhaseFigures, phase_days, summarise
from passend_trajectory.domain.team_no import RecordTeamNODecision
from tests.unit.trajectory.builders import Trajectory, escalation, evaluate


def closed_after_51_days() -> Trajectory:
    # Opened on Monday 14 September 2026, 11:00 Dutch time (T0).
    t = Trajectory().open()
    t.later(days=3).explore()  # held on 17 September: counts from 0:00 Dutch time
    t.later(days=4).plan()
    t.consent()
    t.later(days=2).start()
    t.later(days=42)
    evaluate(t, EvaluationOutcome.CLOSE)
    t.run(CloseTrajectory())
    return t


def test_each_finished_phase_in_days_W6_W15_W16_W21() -> None:
    days = phase_days(closed_after_51_days().state)
    assert days == {
        # 11:00 on the 14th to the start of the 17th, Dutch time: 2 days and 13 hours.
        "to_start_conversation": 2.54,
        # The start of the 17th to 11:00 on the 21st: 4 days and 11 hours.
        "to_plan": 4.46,
        "to_support": 2.0,
        "to_first_evaluation": 42.0,
        "opened_to_closed": 51.0,
    }


def test_a_phase_not_yet_ended_is_left_out_W16() -> None:
    t = Trajectory().open()
    t.later(days=1).explore()
    assert set(phase_days(t.state)) == {"to_start_conversation"}
    assert phase_days(Trajectory().state) == {}


def test_team_nos_decision_counts_from_the_escalation_TNO() -> None:
    t = Trajectory().open()
    t.explore().plan()
    t.consent()
    t.start()
    evaluate(t, EvaluationOutcome.ESCALATE, escalation=escalation())
    assert "team_no_decision" not in phase_days(t.state)
    t.later(days=9, hours=12).run(
        RecordTeamNODecision(decision="Bridging care", assignment="Wijkteam", provider="X"),
        "team-no-1",
    )
    assert phase_days(t.state)["team_no_decision"] == 9.5


def test_the_figures_per_phase_in_the_routes_order() -> None:
    figures = summarise(
        [{"to_plan": 2.0, "to_support": 1.0}, {"to_plan": 4.0}, {"to_plan": 9.0}, {}]
    )
    assert [f.phase for f in figures] == list(PHASES)
    by_phase = {f.phase: f for f in figures}
    assert by_phase["to_plan"] == PhaseFigures("to_plan", 3, 5.0, 4.0)
    assert by_phase["to_support"] == PhaseFigures("to_support", 1, 1.0, 1.0)
    assert by_phase["opened_to_closed"] == PhaseFigures("opened_to_closed", 0, None, None)
