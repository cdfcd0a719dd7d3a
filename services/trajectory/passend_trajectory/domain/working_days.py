"""Dutch working days (Monday to Friday, no public holiday), for reminding before a deadline."""

from __future__ import annotations

from collections.abc import Container
from datetime import date, timedelta
from functools import cache

import holidays


@cache
def dutch_public_holidays() -> Container[date]:
    """The Dutch public holidays (Easter, King's Day, ...) for any year, from ``holidays``."""
    found: Container[date] = holidays.country_holidays("NL")
    return found


def is_working_day(day: date, public_holidays: Container[date] | None = None) -> bool:
    """Monday to Friday and not a Dutch public holiday."""
    closed = dutch_public_holidays() if public_holidays is None else public_holidays
    return day.weekday() < 5 and day not in closed


def working_days_before(
    day: date, count: int, public_holidays: Container[date] | None = None
) -> date:
    """The ``count``-th working day before ``day`` (``day`` itself never counts)."""
    found = 0
    current = day
    while found < count:
        current -= timedelta(days=1)
        if is_working_day(current, public_holidays):
            found += 1
    return current
