"""The one working-day calendar: the SWV's policy choices, counting, and Dutch days.

W26: the claiming worker contacts the IB within one working week, so the first-contact
deadline is five working days after the claim, counted with the SWV's calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from passend_backbone.working_days import (
    AMSTERDAM,
    DEFAULT_POLICY,
    calendar_for,
    local_day,
    start_of,
)
from passend_contracts.events.assignment import CalendarPolicy, HolidayPeriod

DEFAULTS = calendar_for()
GOOD_FRIDAY_2027 = date(2027, 3, 26)
EASTER_MONDAY_2027 = date(2027, 3, 29)
AUTUMN_2027 = HolidayPeriod(
    name="herfstvakantie", first_day=date(2027, 10, 16), last_day=date(2027, 10, 24)
)


def policy(**choices: str) -> CalendarPolicy:
    return CalendarPolicy.model_validate(choices)


def test_defaults_close_good_friday_5_may_in_lustrum_years_and_school_holidays() -> None:
    chosen = policy(good_friday="closed", liberation_day="lustrum", school_holidays="closed")
    assert chosen == DEFAULT_POLICY
    assert calendar_for(None).policy == DEFAULT_POLICY


def test_weekends_and_the_fixed_public_holidays_are_never_working_days() -> None:
    working = calendar_for(
        policy(good_friday="working", liberation_day="working", school_holidays="working")
    )
    for closed in (
        date(2027, 1, 1),  # New Year's Day
        EASTER_MONDAY_2027,
        date(2027, 4, 27),  # King's Day (a Tuesday)
        date(2027, 5, 6),  # Ascension Day
        date(2027, 5, 17),  # Whit Monday
        date(2026, 12, 25),  # Christmas Day (a Friday)
    ):
        assert not working.is_working_day(closed), closed
    assert working.is_working_day(date(2027, 12, 27))  # the Monday after Christmas 2027
    assert not working.is_working_day(date(2027, 3, 27))  # Saturday
    assert not working.is_working_day(date(2027, 3, 28))  # Sunday (Easter)


@pytest.mark.parametrize(("choice", "works"), [("closed", False), ("working", True)])
def test_good_friday_follows_the_policy(choice: str, works: bool) -> None:
    assert calendar_for(policy(good_friday=choice)).is_working_day(GOOD_FRIDAY_2027) is works
    assert DEFAULTS.is_working_day(GOOD_FRIDAY_2027) is False


@pytest.mark.parametrize(
    ("choice", "in_2025", "in_2027"),
    [
        ("every_year", False, False),
        ("lustrum", False, True),  # closed in 2025, 2030, ...: the national agreement
        ("working", True, True),
    ],
)
def test_5_may_follows_the_policy(choice: str, in_2025: bool, in_2027: bool) -> None:
    cal = calendar_for(policy(liberation_day=choice))
    assert cal.is_working_day(date(2025, 5, 5)) is in_2025  # a Monday, lustrum year
    assert cal.is_working_day(date(2027, 5, 5)) is in_2027  # a Wednesday
    assert not cal.is_working_day(date(2030, 5, 5))  # a Sunday whatever the policy


@pytest.mark.parametrize(("choice", "works"), [("closed", False), ("working", True)])
def test_school_holidays_follow_the_policy(choice: str, works: bool) -> None:
    cal = calendar_for(policy(school_holidays=choice), [AUTUMN_2027])
    assert cal.is_working_day(AUTUMN_2027.first_day + timedelta(days=2)) is works  # Monday
    assert cal.is_working_day(date(2027, 10, 22)) is works  # Friday, last weekday in it
    assert cal.is_working_day(date(2027, 10, 15))  # the Friday before
    assert cal.is_working_day(date(2027, 10, 25))  # the Monday after


def test_a_calendar_without_the_schools_holidays_counts_through_them() -> None:
    assert DEFAULTS.is_working_day(date(2027, 10, 18))


def test_public_holidays_can_be_given_as_a_plain_set() -> None:
    cal = calendar_for(public_holidays={date(2027, 3, 3)})
    assert not cal.is_working_day(date(2027, 3, 3))
    assert cal.is_working_day(GOOD_FRIDAY_2027)  # only what was given counts


def test_w26_first_contact_week_is_five_working_days_after_the_claim() -> None:
    assert DEFAULTS.add_working_days(date(2027, 3, 1), 5) == date(2027, 3, 8)  # Mon -> Mon
    assert DEFAULTS.add_working_days(date(2027, 3, 6), 5) == date(2027, 3, 12)  # Sat -> Fri


def test_w26_first_contact_week_across_easter_depends_on_good_friday() -> None:
    # Claimed Wednesday 24 March 2027; Easter Monday is closed for everyone.
    claimed = date(2027, 3, 24)
    assert DEFAULTS.add_working_days(claimed, 5) == date(2027, 4, 2)
    open_on_good_friday = calendar_for(policy(good_friday="working"))
    assert open_on_good_friday.add_working_days(claimed, 5) == date(2027, 4, 1)


def test_w26_first_contact_week_across_5_may_2025() -> None:
    # Claimed Wednesday 30 April 2025: Thu 1, Fri 2, (Mon 5 May), Tue 6, Wed 7, Thu 8.
    claimed = date(2025, 4, 30)
    assert DEFAULTS.add_working_days(claimed, 5) == date(2025, 5, 8)
    assert calendar_for(policy(liberation_day="working")).add_working_days(claimed, 5) == date(
        2025, 5, 7
    )


def test_w26_first_contact_week_across_5_may_2027_closed_every_year() -> None:
    # Claimed Monday 3 May 2027: Tue 4, (Wed 5), (Thu 6 Ascension), Fri 7, Mon 10, Tue 11,
    # Wed 12; in a year that is no lustrum the default counts Wed 5 May.
    claimed = date(2027, 5, 3)
    every_year = calendar_for(policy(liberation_day="every_year"))
    assert every_year.add_working_days(claimed, 5) == date(2027, 5, 12)
    assert DEFAULTS.add_working_days(claimed, 5) == date(2027, 5, 11)


def test_w26_a_school_holiday_week_stops_the_clock() -> None:
    claimed = date(2027, 10, 13)  # Wednesday before the autumn holiday
    cal = calendar_for(None, [AUTUMN_2027])
    # Thu 14, Fri 15, then Mon 25 .. Wed 27.
    assert cal.add_working_days(claimed, 5) == date(2027, 10, 27)
    assert DEFAULTS.add_working_days(claimed, 5) == date(2027, 10, 20)


def test_working_days_before() -> None:
    # The working day two before Tuesday 30 March 2027: Thu 25 (Mon 29, Fri 26 closed).
    assert DEFAULTS.working_days_before(date(2027, 3, 30), 1) == date(2027, 3, 25)
    assert DEFAULTS.working_days_before(date(2027, 3, 30), 2) == date(2027, 3, 24)
    assert DEFAULTS.working_days_before(date(2027, 3, 8), 5) == date(2027, 3, 1)
    with pytest.raises(ValueError, match="at least 1"):
        DEFAULTS.working_days_before(date(2027, 3, 8), 0)


def test_add_working_days_needs_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DEFAULTS.add_working_days(date(2027, 3, 8), 0)


def test_working_days_between_counts_after_the_first_up_to_and_with_the_last() -> None:
    assert DEFAULTS.working_days_between(date(2027, 3, 1), date(2027, 3, 8)) == 5
    assert DEFAULTS.working_days_between(date(2027, 3, 24), date(2027, 4, 2)) == 5
    assert DEFAULTS.working_days_between(date(2027, 3, 26), date(2027, 3, 29)) == 0
    assert DEFAULTS.working_days_between(date(2027, 3, 8), date(2027, 3, 8)) == 0
    assert DEFAULTS.working_days_between(date(2027, 3, 8), date(2027, 3, 1)) == 0


@pytest.mark.parametrize("count", [1, 5, 12])
def test_counting_forward_and_back_agree(count: int) -> None:
    start = date(2027, 3, 23)
    later = DEFAULTS.add_working_days(start, count)
    assert DEFAULTS.working_days_between(start, later) == count
    assert DEFAULTS.working_days_before(later, count) <= start


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        # Summer (CEST, UTC+2): the Dutch day starts at 22:00 UTC the evening before.
        (datetime(2027, 6, 30, 21, 59, tzinfo=UTC), date(2027, 6, 30)),
        (datetime(2027, 6, 30, 22, 0, tzinfo=UTC), date(2027, 7, 1)),
        # Winter (CET, UTC+1): at 23:00 UTC.
        (datetime(2027, 1, 14, 22, 59, tzinfo=UTC), date(2027, 1, 14)),
        (datetime(2027, 1, 14, 23, 0, tzinfo=UTC), date(2027, 1, 15)),
        (datetime(2027, 1, 15, 0, 30, tzinfo=AMSTERDAM), date(2027, 1, 15)),
    ],
)
def test_local_day_around_midnight(instant: datetime, day: date) -> None:
    assert local_day(instant) == day


def test_local_day_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(datetime(2027, 1, 15, 0, 30))  # naive: the point of the test


def test_start_of_a_dutch_day_in_summer_and_winter() -> None:
    assert start_of(date(2027, 7, 1)) == datetime(2027, 6, 30, 22, 0, tzinfo=UTC)
    assert start_of(date(2027, 1, 15)) == datetime(2027, 1, 14, 23, 0, tzinfo=UTC)
    for day in (date(2027, 3, 28), date(2027, 10, 31)):  # the days the clocks change
        assert local_day(start_of(day)) == day
        assert local_day(start_of(day) - timedelta(microseconds=1)) == day - timedelta(days=1)
