"""Care level 4 is a referral needing a TLV and so an OPP; the OPP is evaluated twice a year (S)."""

from __future__ import annotations

from datetime import date

from passend_contracts.events.trajectory import CareLevelChanged, EvaluationOutcome, OppEvaluated
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
