"""W24: a worker's caseload against her weekly case hours."""

from __future__ import annotations

from passend_assignment.domain.caseload import Caseload


def test_27_cases_on_a_20_hour_week_is_over_capacity_W24() -> None:
    load = Caseload(open_cases=27, weekly_case_hours=20, hours_per_case=2.0)
    assert load.hours_taken == 54
    assert load.hours_free == 0
    assert load.hours_over == 34
    assert load.over_capacity


def test_cases_that_fit_the_week_leave_hours_free_W24() -> None:
    load = Caseload(open_cases=3, weekly_case_hours=20, hours_per_case=2.0)
    assert (load.hours_taken, load.hours_free, load.hours_over) == (6, 14, 0)
    assert not load.over_capacity


def test_exactly_full_is_not_over_capacity_W24() -> None:
    load = Caseload(open_cases=10, weekly_case_hours=20, hours_per_case=2.0)
    assert load.hours_free == 0 and not load.over_capacity


def test_unknown_hours_are_never_called_over_capacity_W24() -> None:
    # A worker the directory does not know (cases claimed before she left it).
    load = Caseload(open_cases=5, weekly_case_hours=None, hours_per_case=2.0)
    assert load.hours_taken == 10
    assert load.hours_free is None and load.hours_over is None
    assert not load.over_capacity
