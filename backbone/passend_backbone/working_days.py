"""The one working-day calendar of Passend: which days count for a deadline, per SWV.

Every deadline and reminder in every service counts working days with this calendar
(``docs/working-days.md`` has the policy in full):

- a working day is Monday to Friday;
- minus the Dutch public holidays (New Year's Day, Easter Monday, King's Day, Ascension
  Day, Whit Monday, Christmas Day and Boxing Day), from the ``holidays`` package;
- minus what the SWV chose (its :class:`~passend_contracts.events.assignment.CalendarPolicy`,
  configured with ``SwvConfigured``): Good Friday closed (default) or not; 5 May closed
  every year, every fifth year (default, as the ``holidays`` package and the national
  agreement have it) or never; and the school holidays of the school's region closed
  (default) or not.

Days are Dutch days: an instant counts on its date in Europe/Amsterdam.
"""

from __future__ import annotations

import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from passend_contracts.events.assignment import CalendarPolicy, HolidayPeriod

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEFAULT_POLICY = CalendarPolicy()


@functools.cache
def _dutch_holidays() -> holidays.HolidayBase:
    # One shared calendar: building one and filling in a year measured 2-6 ms; it fills
    # in further years by itself when asked.
    return holidays.country_holidays("NL")


@dataclass(frozen=True)
class PublicHolidays(Container[date]):
    """The Dutch public holidays as an SWV's policy counts them."""

    policy: CalendarPolicy = DEFAULT_POLICY

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day.month == 5 and day.day == 5:
            if self.policy.liberation_day == "every_year":
                return True
            if self.policy.liberation_day == "working":
                return False
        name = _dutch_holidays().get(day)
        if name is None:
            return False
        if name == "Good Friday":
            return self.policy.good_friday == "closed"
        return True


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days for one school of one SWV.

    ``public_holidays`` is any container of dates (the policy's Dutch holidays in
    production, a plain set in tests); ``school_holidays`` are the periods the SWV
    configured for the school's region, counted only when the policy says so.
    """

    policy: CalendarPolicy = DEFAULT_POLICY
    school_holidays: tuple[HolidayPeriod, ...] = ()
    public_holidays: Container[date] = field(default=PublicHolidays())

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday, not in a counted school holiday."""
        if day.weekday() >= 5 or day in self.public_holidays:
            return False
        if self.policy.school_holidays == "working":
            return True
        return not any(p.first_day <= day <= p.last_day for p in self.school_holidays)

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself never counts)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start
        found = 0
        while found < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                found += 1
        return day

    def working_days_before(self, day: date, count: int) -> date:
        """The ``count``-th working day before ``day`` (``day`` itself never counts)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        found = 0
        current = day
        while found < count:
            current -= timedelta(days=1)
            if self.is_working_day(current):
                found += 1
        return current

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
    policy: CalendarPolicy | None = None,
    school_holidays: Iterable[HolidayPeriod] = (),
    public_holidays: Container[date] | None = None,
) -> WorkingCalendar:
    """The calendar of ``policy`` (default: the defaults) with the school's holidays."""
    chosen = policy or DEFAULT_POLICY
    return WorkingCalendar(
        policy=chosen,
        school_holidays=tuple(school_holidays),
        public_holidays=PublicHolidays(chosen) if public_holidays is None else public_holidays,
    )


def local_day(instant: datetime) -> date:
    """The Dutch calendar day of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("the instant must be timezone-aware")
    return instant.astimezone(AMSTERDAM).date()


def start_of(day: date) -> datetime:
    """Midnight at the start of a Dutch day, as a UTC instant (events carry UTC)."""
    return datetime.combine(day, time.min, tzinfo=AMSTERDAM).astimezone(UTC)
