"""W26: the contact deadline counts the working days of the SWV's own calendar policy.

The policy comes with the SWV's settings (``SwvConfigured.calendar``, from the directory
document's ``calendar`` section); the school holidays are those of the school's region.
Each test routes a request through the directory as configured and reads the deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from passend_assignment.directory_file import load_directory_file
from passend_assignment.domain.deadlines import time_left
from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.directory_doc import SchoolDoc, SwvDoc
from passend_assignment.domain.routing import route_request
from passend_contracts.events.assignment import (
    CalendarPolicy,
    HolidayPeriod,
    RequestRouted,
    SwvConfigured,
)

from .factories import NOW, SWV, submitted

DEV_FILE = Path(__file__).parents[3] / "services/assignment/passend_assignment/dev_directory.yaml"
AUTUMN_2027 = HolidayPeriod(
    name="herfstvakantie", first_day=date(2027, 10, 16), last_day=date(2027, 10, 24)
)


def _doc(policy: CalendarPolicy | None, holidays: Sequence[HolidayPeriod] = ()) -> SwvDoc:
    return SwvDoc(
        swv_id=SWV,
        name="Test",
        schools=[
            SchoolDoc(
                school_id="school-1",
                name="De Linde",
                municipality="GM0622",
                holiday_region="midden",
            ),
            SchoolDoc(
                school_id="school-2",
                name="De Esch",
                municipality="GM0034",
                holiday_region="noord",
            ),
        ],
        school_holidays={"midden": list(holidays)},
        calendar=policy,
    )


def _directory(
    policy: CalendarPolicy | None, holidays: Sequence[HolidayPeriod] = ()
) -> DirectoryState:
    return fold(configure(DirectoryState(), _doc(policy, holidays), NOW))


def _due_on(directory: DirectoryState, day: date) -> date | None:
    """The W26 contact deadline of a request submitted at 10:00 UTC on ``day``."""
    at = datetime.combine(day, time(10), tzinfo=UTC)
    routed = route_request(submitted(school="school-1", at=at), SWV, directory, at)[0]
    assert isinstance(routed, RequestRouted)
    return routed.contact_due_on


@pytest.mark.parametrize(
    ("policy", "due_on"),
    [
        (None, date(2027, 4, 2)),  # the default: closed
        (CalendarPolicy(good_friday="closed"), date(2027, 4, 2)),
        (CalendarPolicy(good_friday="working"), date(2027, 4, 1)),
    ],
)
def test_w26_deadline_over_easter_with_good_friday_closed_or_working(
    policy: CalendarPolicy | None, due_on: date
) -> None:
    """W26: submitted Wednesday 24 March 2027; Easter Monday is always closed, Good Friday
    (26 March) only when the SWV's policy says so."""
    assert _due_on(_directory(policy), date(2027, 3, 24)) == due_on


@pytest.mark.parametrize(
    ("liberation_day", "year", "due_on"),
    [
        # 2025 is a lustrum year: 5 May (a Monday) is closed unless the SWV works on it.
        ("every_year", 2025, date(2025, 5, 7)),
        ("lustrum", 2025, date(2025, 5, 7)),
        ("working", 2025, date(2025, 5, 6)),
        # 2026 is not: 5 May (a Tuesday) is closed only when the SWV closes it every year.
        ("every_year", 2026, date(2026, 5, 7)),
        ("lustrum", 2026, date(2026, 5, 6)),
        ("working", 2026, date(2026, 5, 6)),
    ],
)
def test_w26_deadline_over_5_may_in_a_lustrum_year_and_other_years(
    liberation_day: str, year: int, due_on: date
) -> None:
    """W26: submitted Tuesday/Wednesday 29 April, after King's Day; five working days later
    falls on 6 May, or on 7 May when 5 May is closed."""
    policy = CalendarPolicy.model_validate({"liberation_day": liberation_day})
    assert _due_on(_directory(policy), date(year, 4, 29)) == due_on


@pytest.mark.parametrize(
    ("policy", "due_on"),
    [
        (None, date(2027, 10, 28)),  # the default: the region's holidays are closed
        (CalendarPolicy(school_holidays="closed"), date(2027, 10, 28)),
        (CalendarPolicy(school_holidays="working"), date(2027, 10, 21)),
    ],
)
def test_w26_deadline_over_the_school_holidays_closed_or_working(
    policy: CalendarPolicy | None, due_on: date
) -> None:
    """W26: submitted Thursday 14 October 2027; the autumn holiday of the school's region
    (16-24 October) stops the clock unless the SWV counts it as working days."""
    assert _due_on(_directory(policy, [AUTUMN_2027]), date(2027, 10, 14)) == due_on


def test_w26_a_school_of_another_region_keeps_working_through_the_holiday() -> None:
    """W26: only the holidays of the school's own region count."""
    directory = _directory(None, [AUTUMN_2027])  # configured for region midden only
    monday = date(2027, 10, 18)
    assert not directory.calendar_of("school-1").is_working_day(monday)
    assert directory.calendar_of("school-2").is_working_day(monday)  # region noord
    assert directory.calendar_of("school-unknown").is_working_day(monday)


@pytest.mark.parametrize(("good_friday", "left"), [("closed", 4), ("working", 5)])
def test_w26_time_left_counts_working_days_of_the_swvs_calendar(
    good_friday: str, left: int
) -> None:
    """W26: the deadlines view counts the working days left with the same calendar."""
    policy = CalendarPolicy.model_validate({"good_friday": good_friday})
    calendar = _directory(policy).calendar_of("school-1")
    due_at = datetime(2027, 4, 2, 22, tzinfo=UTC)
    now = datetime(2027, 3, 25, 9, tzinfo=UTC)
    assert time_left(date(2027, 4, 2), due_at, now, calendar).working_days == left


def test_w26_the_calendar_policy_is_folded_from_the_swv_settings() -> None:
    """W26: no ``calendar`` section means the defaults; a changed one is one new
    ``SwvConfigured``, and the same document again appends nothing."""
    assert _directory(None).calendar == CalendarPolicy()
    working = CalendarPolicy(good_friday="working", school_holidays="working")
    state = _directory(working)
    assert state.calendar == working
    assert state.settings is not None and state.settings.calendar == working
    assert configure(state, _doc(working), NOW) == []
    back = configure(state, _doc(None), NOW)
    assert [type(e) for e in back] == [SwvConfigured]
    assert fold([*configure(DirectoryState(), _doc(working), NOW), *back]).calendar == (
        CalendarPolicy()
    )


def test_w26_the_dev_directory_names_its_calendar_policy() -> None:
    assert load_directory_file(DEV_FILE)[0].calendar == CalendarPolicy()
