"""Dutch working days: weekdays that are neither public holidays nor the school's holidays."""

from __future__ import annotations

import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays

from passend_contracts.events.assignment import HolidayPeriod


@functools.cache
def dutch_public_holidays() -> Container[date]:
    """The Dutch public holidays (Easter, King's Day, ...) for any year, from ``holidays``.

    One shared calendar: building one and filling in a year measured 2-6 ms, which
    every routed request paid; it fills in further years by itself when asked.
    """
    found: Container[date] = holidays.country_holidays("NL")
    return found


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count as working days for one school (W26).

    ``public_holidays`` is any container of dates (the ``holidays`` package's Dutch calendar
    in production, a plain set in tests); ``school_holidays`` are the periods an SWV
    configured for the school's region.
    """

    public_holidays: Container[date] = field(default_factory=dutch_public_holidays)
    school_holidays: tuple[HolidayPeriod, ...] = ()

    def is_working_day(self, day: date) -> bool:
        """W26: Monday to Friday, not a public holiday, not in a school holiday."""
        if day.weekday() >= 5 or day in self.public_holidays:
            return False
        return not any(p.first_day <= day <= p.last_day for p in self.school_holidays)

    def add_working_days(self, start: date, count: int) -> date:
        """W26: the ``count``-th working day after ``start`` (``start`` itself never counts)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start
        found = 0
        while found < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                found += 1
        return day

    def working_days_between(self, after: date, until: date) -> int:
        """How many working days lie in ``(after, until]``; 0 when ``until`` is not later."""
        days = 0
        day = after
        while day < until:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days += 1
        return days


def calendar_for(
    school_holidays: Iterable[HolidayPeriod] = (),
    public_holidays: Container[date] | None = None,
) -> WorkingCalendar:
    """A working calendar with the Dutch public holidays and the given school holidays."""
    return WorkingCalendar(
        public_holidays=dutch_public_holidays() if public_holidays is None else public_holidays,
        school_holidays=tuple(school_holidays),
    )
