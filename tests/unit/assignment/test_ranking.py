"""W24: suggestions are ordered expertise first, then knowing the school, then hours free,
with a score and a reason per factor; a worker with fewer of the requested areas never
comes before one with more."""

from __future__ import annotations

import itertools

from passend_assignment.domain.ranking import PRIORITY, WEIGHTS, Suggestion, rank

from .factories import worker


def factors(s: Suggestion) -> dict[str, tuple[float, str]]:
    return {f.factor: (f.score, f.why) for f in s.factors}


def test_w24_expertise_decides_first_and_each_factor_explains_itself() -> None:
    expert = worker("w-expert", expertise=("reading",), hours=16)
    familiar = worker("w-familiar", schools=("school-1",), hours=16)
    ranked = rank([familiar, expert], ["reading"], "school-1", {}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-expert", "w-familiar"]
    top = factors(ranked[0])
    assert top["expertise"] == (1.0, "has 1 of 1 requested areas: reading")
    assert top["caseload_room"] == (1.0, "0 open cases take 0 of 16 hours a week, 16 hours free")
    assert top["school_familiarity"] == (0.0, "does not know the school yet")
    # The total is the expertise share only: the other factors break ties, they add nothing.
    assert [s.total for s in ranked] == [1.0, 0.0]
    assert factors(ranked[1])["expertise"] == (0.0, "has 0 of 1 requested areas; lacks reading")


def test_w24_factors_come_in_the_order_they_decide_with_their_weight_in_the_total() -> None:
    (only,) = rank([worker("w-a", expertise=("reading",))], ["reading", "maths"], "s", {}, 2.0)
    assert [(f.factor, f.priority, f.weight) for f in only.factors] == [
        ("expertise", 1, 1.0),
        ("school_familiarity", 2, 0.0),
        ("caseload_room", 3, 0.0),
    ]
    assert dict(PRIORITY) == {"expertise": 1, "school_familiarity": 2, "caseload_room": 3}
    assert sum(WEIGHTS.values()) == 1.0
    assert only.total == 0.5
    assert (only.requested_areas, only.has_areas, only.lacks_areas) == (
        ("reading", "maths"),
        ("reading",),
        ("maths",),
    )
    assert only.position == 1


def test_w24_zero_of_three_never_above_one_of_three() -> None:
    """The case of issue 19: the worker without any requested area knows the school and
    has every hour free, the other has one of three, a strange school and a full week.
    The old weighted sum (0.5/0.3/0.2) put the first on top (0.5 against 0.17)."""
    requested = ["reading", "maths", "behaviour"]
    none_of_them = worker("w-a", expertise=("autism",), schools=("school-1",), hours=24)
    one_of_them = worker("w-b", expertise=("maths",), hours=8)
    ranked = rank([none_of_them, one_of_them], requested, "school-1", {"w-b": 4}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-b", "w-a"]
    assert [(len(s.has_areas), s.knows_school, s.hours_free) for s in ranked] == [
        (1, False, 0.0),
        (0, True, 24.0),
    ]
    assert [s.position for s in ranked] == [1, 2]


def test_w24_fewer_requested_areas_never_outrank_more_whatever_the_rest() -> None:
    """Every combination of areas, school and caseload: down the list the number of
    requested areas a worker has never rises, and the total never rises."""
    requested = ["reading", "maths", "behaviour"]
    workers = [
        worker(f"w-{n}", expertise=areas, schools=schools, hours=hours)
        for n, (areas, schools, hours) in enumerate(
            itertools.product(
                [(), ("reading",), ("maths", "behaviour"), tuple(requested)],
                [(), ("school-1",)],
                [0, 4, 16, 24],
            )
        )
    ]
    loads = {w.worker_id: i % 5 for i, w in enumerate(workers)}
    ranked = rank(workers, requested, "school-1", loads, 2.0)
    assert len(ranked) == len(workers)
    counts = [len(s.has_areas) for s in ranked]
    assert counts == sorted(counts, reverse=True)
    assert [s.total for s in ranked] == sorted((s.total for s in ranked), reverse=True)
    for better, worse in itertools.pairwise(ranked):
        if len(better.has_areas) == len(worse.has_areas):
            assert better.knows_school >= worse.knows_school
            if better.knows_school == worse.knows_school:
                assert better.hours_free >= worse.hours_free


def test_w24_with_equal_expertise_knowing_the_school_comes_before_room() -> None:
    roomy = worker("w-roomy", expertise=("reading",), hours=24)
    known = worker("w-known", expertise=("reading",), hours=8, schools=("school-1",))
    ranked = rank([roomy, known], ["reading"], "school-1", {"w-known": 3}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-known", "w-roomy"]


def test_w24_full_caseload_scores_no_room_and_more_hours_free_come_first() -> None:
    busy = worker("w-busy", expertise=("reading",), hours=8)
    free = worker("w-free", expertise=("reading",), hours=8)
    ranked = rank([busy, free], ["reading"], "school-1", {"w-busy": 4, "w-free": 1}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-free", "w-busy"]
    room = {s.worker_id: factors(s)["caseload_room"][0] for s in ranked}
    assert room == {"w-free": 0.75, "w-busy": 0.0}
    assert [(s.open_cases, s.weekly_case_hours, s.hours_free) for s in ranked] == [
        (1, 8, 6.0),
        (4, 8, 0.0),
    ]


def test_w24_room_counts_hours_free_not_the_share_of_a_week() -> None:
    """Eight hours free of 24 is more room than six of eight: the hours decide."""
    part_time = worker("w-a", expertise=("reading",), hours=8)
    full_time = worker("w-b", expertise=("reading",), hours=24)
    ranked = rank([part_time, full_time], ["reading"], "s", {"w-a": 1, "w-b": 8}, 2.0)
    assert [(s.worker_id, s.hours_free) for s in ranked] == [("w-b", 8.0), ("w-a", 6.0)]


def test_w24_school_familiarity_breaks_an_otherwise_equal_ranking() -> None:
    stranger = worker("w-a", hours=10)
    known = worker("w-b", hours=10, schools=("school-1",))
    ranked = rank([stranger, known], [], "school-1", {}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-b", "w-a"]
    assert factors(ranked[0])["expertise"] == (0.0, "no expertise areas requested")
    assert ranked[0].requested_areas == ()


def test_w24_inactive_workers_are_not_suggested_and_ties_sort_by_id() -> None:
    ranked = rank([worker("w-z"), worker("w-gone", active=False), worker("w-a")], [], "s", {}, 2.0)
    assert [s.worker_id for s in ranked] == ["w-a", "w-z"]
    assert [s.position for s in ranked] == [1, 2]


def test_w24_no_case_hours_means_no_room() -> None:
    ranked = rank([worker("w-a", hours=0)], [], "s", {}, 2.0)
    assert factors(ranked[0])["caseload_room"] == (0.0, "no weekly hours for casework")
    assert ranked[0].hours_free == 0.0


def test_w24_more_open_cases_than_hours_leave_no_negative_room() -> None:
    (s,) = rank([worker("w-a", hours=4)], [], "s", {"w-a": 5}, 2.0)
    assert s.hours_free == 0.0
    assert factors(s)["caseload_room"] == (
        0.0,
        "5 open cases take 10 of 4 hours a week, 0 hours free",
    )
