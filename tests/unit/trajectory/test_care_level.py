"""Care level 4 is a referral needing a TLV and so an OPP; the OPP is evaluated twice a year (S)."""

from __future__ import annotations

from datetime import date

from passend_contracts.events.trajectory import (
    CareLevelChanged,
    EvaluationOutcome,
    OppEvaluated,
    OppRecorded,
)
from passend_trajectory.domain.care_level import (
    RecordOpp,
    RecordOppEvaluation,
    record_opp_evaluation,
)
from tests.unit.trajectory.builders import act, conflict, evaluate, running


def test_s_level_4_without_an_opp_is_refused() -> None:
    t = running()
    with conflict("a TLV needs an OPP on record") as refused:
        evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=4, reason="SBO needed")
    assert refused.value.rule == "S"


def test_s_level_4_with_an_opp_is_a_referral() -> None:
    t = running()
    t.run(RecordOpp(drawn_up_on=date(2026, 9, 1)))
    events = evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=4, reason="SBO needed")
    changed = events[1]
    assert isinstance(changed, CareLevelChanged)
    assert changed.referral is True
    assert events[0].referral is True  # type: ignore[attr-defined]


def test_s_the_same_level_again_is_no_change() -> None:
    t = running()
    evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=3, reason="more")
    with conflict("already is 3"):
        evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=3, reason="again")


def test_s_an_opp_evaluation_needs_an_opp() -> None:
    t = running()
    cmd = RecordOppEvaluation(evaluated_on=date(2026, 9, 10), summary="on track")
    with conflict("no OPP on record"):
        record_opp_evaluation(t.state, cmd, act())
    t.run(RecordOpp(drawn_up_on=date(2026, 9, 1)))
    [evaluated] = t.run(cmd)
    assert isinstance(evaluated, OppEvaluated)


def test_s_the_opp_s_parts_are_kept_and_a_new_opp_replaces_the_old() -> None:
    """S: the OPP's starting point, expected outflow, goals and support travel in
    OppRecorded (blank parts left out, text trimmed); a new OPP replaces the one before and
    its evaluations stay."""
    t = running()
    [recorded] = t.run(
        RecordOpp(
            drawn_up_on=date(2026, 9, 1),
            starting_point="  Leest op AVI E4.  ",
            expected_outflow="Vmbo basis",
            goals=["Leest AVI M5", "   ", "Werkt zelfstandig"],
            support="",
        )
    )
    assert isinstance(recorded, OppRecorded)
    assert recorded.starting_point == "Leest op AVI E4."
    assert recorded.expected_outflow == "Vmbo basis"
    assert recorded.goals == ["Leest AVI M5", "Werkt zelfstandig"]
    assert recorded.support is None
    t.run(RecordOppEvaluation(evaluated_on=date(2026, 9, 10), summary="on track"))
    t.run(RecordOpp(drawn_up_on=date(2026, 9, 11), expected_outflow="Vmbo kader"))
    assert t.state.opp is not None and t.state.opp.expected_outflow == "Vmbo kader"
    assert t.state.opp.goals == [] and len(t.state.opp_evaluations) == 1
