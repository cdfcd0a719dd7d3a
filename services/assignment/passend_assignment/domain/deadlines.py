"""The first-contact deadline: five Dutch working days from submission, and its reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from passend_backbone.working_days import WorkingCalendar, local_day, start_of

CONTACT_WORKING_DAYS = 5


@dataclass(frozen=True)
class ContactDeadline:
    """When the IB must have been contacted (W26)."""

    due_on: date  # the last working day on which contact is in time
    due_at: datetime  # the end of ``due_on`` in Amsterdam, in UTC
    remind_at: datetime  # the start of ``due_on`` in Amsterdam, in UTC: a day's notice


def contact_deadline(submitted_at: datetime, calendar: WorkingCalendar) -> ContactDeadline:
    """W26: first contact within one working week, i.e. by the end of the fifth working day
    after the day of submission (weekends, public holidays and, as the SWV's calendar policy
    says, Good Friday, 5 May and the school's holidays excluded)."""
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be timezone-aware")
    due_on = calendar.add_working_days(local_day(submitted_at), CONTACT_WORKING_DAYS)
    return ContactDeadline(
        due_on=due_on,
        due_at=start_of(due_on + timedelta(days=1)),
        remind_at=start_of(due_on),
    )


@dataclass(frozen=True)
class TimeLeft:
    """How much time is left until a deadline, for people and for sorting."""

    seconds: int  # negative once lapsed
    working_days: int  # working days after today up to and including the due day

    @property
    def lapsed(self) -> bool:
        return self.seconds <= 0


def time_left(due_on: date, due_at: datetime, now: datetime, calendar: WorkingCalendar) -> TimeLeft:
    """W26: the time left until ``due_at``, also counted in whole working days of the
    school's calendar."""
    return TimeLeft(
        seconds=int((due_at - now).total_seconds()),
        working_days=calendar.working_days_between(local_day(now), due_on),
    )
