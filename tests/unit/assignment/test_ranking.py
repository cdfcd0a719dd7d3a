"""W24: suggestions rank by expertise, caseload room and school familiarity, with a score each."""

from __future__ import annotations

import pytest

from passend_assignment.domain.ranking import WEIGHTS, rank

from .factories import worker


def test_w24_expertise_weighs_most_and_each_factor_explains_itself() -> None:
    expert = worker("w-expert", expertise=("reading",), hours=16)
    familiar = worker("w-familiar", schools=("school-1",), hours=16)
    ranked = rank([familiar, expert], ["reading"], "school-1", {}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-expert", "w-familiar"]
    top = {f.factor: f for f in ranked[0].factors}
    assert top["expertise"].score == 1.0
    assert top["expertise"].why == "has 1 of 1 areas needed: reading"
    assert top["caseload_room"].why == "0 open cases take 0 of 16 hours a week, 16 hours free"
    assert top["school_familiarity"].score == 0.0
    assert ranked[0].total == pytest.approx(WEIGHTS["expertise"] + WEIGHTS["caseload_room"])


def test_w24_full_caseload_scores_no_room() -> None:
    busy = worker("w-busy", expertise=("reading",), hours=8)
    free = worker("w-free", expertise=("reading",), hours=8)
    ranked = rank([busy, free], ["reading"], "school-1", {"w-busy": 4, "w-free": 1}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-free", "w-busy"]
    room = {s.worker_id: s.factors[1].score for s in ranked}
    assert room == {"w-free": 0.75, "w-busy": 0.0}


def test_w24_school_familiarity_breaks_an_otherwise_equal_ranking() -> None:
    stranger = worker("w-a", hours=10)
    known = worker("w-b", hours=10, schools=("school-1",))
    ranked = rank([stranger, known], [], "school-1", {}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-b", "w-a"]
    assert ranked[0].factors[0].why == "no expertise areas known for this case"


def test_w24_inactive_workers_are_not_suggested_and_ties_sort_by_id() -> None:
    ranked = rank([worker("w-z"), worker("w-gone", active=False), worker("w-a")], [], "s", {}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-a", "w-z"]


def test_w24_no_case_hours_means_no_room() -> None:
    ranked = rank([worker("w-a", hours=0)], [], "s", {}, 2.0)
    assert ranked[0].factors[1].score == 0.0
    assert ranked[0].factors[1].why == "no weekly hours for casework"
