"""W26: working days skip weekends, public holidays (Easter, King's Day) and school holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from passend_assignment.domain.deadlines import contact_deadline, time_left
from passend_backbone.working_days import AMSTERDAM, WorkingCalendar, calendar_for
from passend_contracts.events.assignment import HolidayPeriod

DUTCH = calendar_for()


def test_w26_weekend_and_public_holidays_are_not_working_days() -> None:
    assert not DUTCH.is_working_day(date(2027, 3, 27))  # Saturday
    assert not DUTCH.is_working_day(date(2027, 3, 26))  # Good Friday
    assert not DUTCH.is_working_day(date(2027, 3, 29))  # Easter Monday
    assert not DUTCH.is_working_day(date(2027, 4, 27))  # King's Day (Tuesday)
    assert DUTCH.is_working_day(date(2027, 3, 25))  # Thursday before Easter


def test_w26_plain_week_is_five_working_days_later() -> None:
    assert DUTCH.add_working_days(date(2027, 3, 1), 5) == date(2027, 3, 8)


def test_w26_submission_on_saturday_counts_from_monday() -> None:
    assert DUTCH.add_working_days(date(2027, 3, 6), 5) == date(2027, 3, 12)


def test_w26_deadline_spanning_easter_skips_good_friday_and_easter_monday() -> None:
    # Wednesday 24 March 2027: Thu 25, Tue 30, Wed 31, Thu 1, Fri 2 April.
    assert DUTCH.add_working_days(date(2027, 3, 24), 5) == date(2027, 4, 2)


def test_w26_deadline_spanning_easter_and_kings_day_2025() -> None:
    # 2025: Good Friday 18 April, Easter Monday 21 April, King's Day on Sunday 27 April is
    # kept on Saturday 26 April (no weekday lost); with the May school holiday of region
    # midden (26 April - 4 May) only 5 May onwards counts again.
    may_holiday = HolidayPeriod(
        name="meivakantie", first_day=date(2025, 4, 26), last_day=date(2025, 5, 4)
    )
    cal = calendar_for(None, [may_holiday])
    # Thu 17 April: Tue 22, Wed 23, Thu 24, Fri 25, then Mon 5 May (Liberation Day 2025 is a
    # public holiday in lustrum years) -> Tue 6 May.
    assert cal.add_working_days(date(2025, 4, 17), 5) == date(2025, 5, 6)


def test_w26_deadline_spanning_easter_and_kings_day_2026() -> None:
    # 2026: Good Friday 3 April, Easter Monday 6 April, King's Day Monday 27 April.
    assert DUTCH.add_working_days(date(2026, 4, 2), 5) == date(2026, 4, 13)
    assert DUTCH.add_working_days(date(2026, 4, 22), 5) == date(2026, 4, 30)


def test_w26_school_holiday_week_does_not_count() -> None:
    autumn = HolidayPeriod(
        name="herfstvakantie", first_day=date(2027, 10, 16), last_day=date(2027, 10, 24)
    )
    with_holiday = calendar_for(None, [autumn])
    # Thursday 14 October: Fri 15, then the whole holiday week is skipped.
    assert with_holiday.add_working_days(date(2027, 10, 14), 5) == date(2027, 10, 28)
    assert DUTCH.add_working_days(date(2027, 10, 14), 5) == date(2027, 10, 21)


def test_w26_contact_deadline_is_the_end_of_the_fifth_working_day_in_amsterdam() -> None:
    # Sunday 23:30 UTC in summer is Monday 01:30 in Amsterdam: the Monday counts as the
    # submission day, so the deadline is the end of the next Monday.
    submitted = datetime(2027, 6, 6, 23, 30, tzinfo=UTC)
    deadline = contact_deadline(submitted, DUTCH)
    assert deadline.due_on == date(2027, 6, 14)
    assert deadline.due_at == datetime(2027, 6, 15, tzinfo=AMSTERDAM)
    assert deadline.remind_at == datetime(2027, 6, 14, tzinfo=AMSTERDAM)
    assert deadline.remind_at < deadline.due_at


def test_w26_time_left_counts_working_days_and_goes_negative() -> None:
    cal = WorkingCalendar(public_holidays=set())
    deadline = contact_deadline(datetime(2027, 3, 1, 9, tzinfo=UTC), cal)
    left = time_left(deadline.due_on, deadline.due_at, datetime(2027, 3, 5, 9, tzinfo=UTC), cal)
    assert left.working_days == 1
    assert not left.lapsed
    late = time_left(deadline.due_on, deadline.due_at, datetime(2027, 3, 9, 9, tzinfo=UTC), cal)
    assert late.lapsed
    assert late.working_days == 0


def test_naive_submission_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        contact_deadline(datetime(2027, 3, 1, 9), DUTCH)
