"""Projection ``calendars``: the working days of each school, for evaluation reminders (W21, S).

Assignment's directory says how each SWV counts working days (``SwvConfigured.calendar``,
a :class:`~passend_contracts.events.assignment.CalendarPolicy`), which school-holiday
region each school is in (``SchoolRegistered``) and the holidays of each region
(``SchoolHolidaysConfigured``). Each row keeps the latest setting by its own timestamp,
so redeliveries and any order of arrival end in the same tables. What is not known (an
SWV never configured, a school without a region) counts with the defaults of
``passend_backbone.working_days``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import asyncpg

from passend_backbone import tenancy
from passend_backbone.consumer.readmodel import read_model, tenant_read_model
from passend_backbone.working_days import WorkingCalendar, calendar_for
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CalendarPolicy,
    HolidayPeriod,
    SchoolHolidaysConfigured,
    SchoolRegistered,
    SwvConfigured,
)
from passend_contracts.events.base import EventPayload

_TABLES = """
CREATE TABLE swv_calendars (
    swv            text PRIMARY KEY,
    policy         jsonb,              -- null: the defaults of CalendarPolicy
    configured_at  timestamptz NOT NULL
);
CREATE TABLE school_regions (
    swv            text NOT NULL,
    school_id      text NOT NULL,
    holiday_region text,
    registered_at  timestamptz NOT NULL,
    PRIMARY KEY (swv, school_id)
);
CREATE TABLE school_holidays (
    swv            text NOT NULL,
    region         text NOT NULL,
    periods        jsonb NOT NULL,
    configured_at  timestamptz NOT NULL,
    PRIMARY KEY (swv, region)
);
"""

# The calendar of one school: its SWV's policy and its region's holidays, each if known.
_CALENDARS = """
SELECT q.school_id, c.policy::text AS policy, h.periods::text AS periods
FROM unnest($2::text[]) AS q (school_id)
LEFT JOIN swv_calendars c ON c.swv = $1
LEFT JOIN school_regions s ON s.swv = $1 AND s.school_id = q.school_id
LEFT JOIN school_holidays h ON h.swv = $1 AND h.region = s.holiday_region
"""

DEFAULT_CALENDAR = calendar_for()


class Calendars:
    """Projection ``calendars``: SWV calendar policies, school regions, school holidays."""

    name = "calendars"
    topics: tuple[str, ...] = (topics.ASSIGNMENT,)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_TABLES)
        await tenancy.protect(conn, "swv_calendars", "school_regions", "school_holidays")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if isinstance(payload, SwvConfigured):
            policy = payload.calendar.model_dump_json() if payload.calendar else None
            await conn.execute(
                "INSERT INTO swv_calendars AS t (swv, policy, configured_at) "
                "VALUES ($1, $2::text::jsonb, $3) ON CONFLICT (swv) DO UPDATE "
                "SET policy = excluded.policy, configured_at = excluded.configured_at "
                "WHERE excluded.configured_at >= t.configured_at",
                event.swv,
                policy,
                payload.configured_at,
            )
        elif isinstance(payload, SchoolRegistered):
            await conn.execute(
                "INSERT INTO school_regions AS t (swv, school_id, holiday_region, registered_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (swv, school_id) DO UPDATE "
                "SET holiday_region = excluded.holiday_region, "
                "registered_at = excluded.registered_at "
                "WHERE excluded.registered_at >= t.registered_at",
                event.swv,
                payload.school_id,
                payload.holiday_region,
                payload.registered_at,
            )
        elif isinstance(payload, SchoolHolidaysConfigured):
            periods = json.dumps([p.model_dump(mode="json") for p in payload.periods])
            await conn.execute(
                "INSERT INTO school_holidays AS t (swv, region, periods, configured_at) "
                "VALUES ($1, $2, $3::text::jsonb, $4) ON CONFLICT (swv, region) DO UPDATE "
                "SET periods = excluded.periods, configured_at = excluded.configured_at "
                "WHERE excluded.configured_at >= t.configured_at",
                event.swv,
                payload.region,
                periods,
                payload.configured_at,
            )


def calendar_from(policy: str | None, periods: str | None) -> WorkingCalendar:
    """W21, S: the working calendar of stored rows (JSON text); none: the defaults."""
    chosen = CalendarPolicy.model_validate_json(policy) if policy else None
    holidays = [HolidayPeriod.model_validate(p) for p in json.loads(periods)] if periods else []
    return calendar_for(chosen, holidays)


async def fetch_calendars(
    conn: asyncpg.Connection, swv: str, school_ids: Iterable[str | None]
) -> dict[str, WorkingCalendar]:
    """The calendar of each school of ``swv`` (search_path at this projection's tables); an
    unknown school (``None`` or ``""``, keyed ``""``) counts with the SWV's policy alone."""
    wanted = sorted({s or "" for s in school_ids})
    if not wanted:
        return {}
    rows = await conn.fetch(_CALENDARS, swv, wanted)
    return {r["school_id"]: calendar_from(r["policy"], r["periods"]) for r in rows}


async def calendars_of(
    pool: asyncpg.Pool, swv: str, school_ids: Iterable[str | None], *, tenant: bool = True
) -> dict[str, WorkingCalendar]:
    """The calendars of ``school_ids`` in ``swv``: read as the tenant (an API request), or as
    the service (``tenant=False``: the reminders, which run across SWVs)."""
    if tenant:
        async with tenant_read_model(pool, Calendars.name, swv) as conn:
            return await fetch_calendars(conn, swv, school_ids)
    async with read_model(pool, Calendars.name) as conn:
        return await fetch_calendars(conn, swv, school_ids)


def school_calendar(found: dict[str, WorkingCalendar], school_id: str | None) -> WorkingCalendar:
    """W21, S: the school's calendar in ``found``; the defaults when nothing is known."""
    return found.get(school_id or "", DEFAULT_CALENDAR)


async def calendar_of_school(
    pool: asyncpg.Pool, swv: str, school_id: str | None
) -> WorkingCalendar:
    """W21, S: the working calendar of a case's school (the defaults when nothing is known)."""
    return school_calendar(await calendars_of(pool, swv, [school_id]), school_id)
