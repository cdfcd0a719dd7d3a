"""Evaluation reminders count the working days of the case's school (W21, S): its SWV's
calendar policy and its region's school holidays, learnt from assignment's directory."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from passend_backbone.kafka_io import start_producer
from passend_backbone.kafka_settings import BrokerKind
from passend_backbone.working_days import WorkingCalendar
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
from passend_contracts.registry import parse
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from passend_trajectory.calendars import Calendars, fetch_calendars
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import WORKER_H, conversation, plan, post
from tests.integration.trajectory.kit import SCHOOL, SWV, T0, WORKER, claimed, deliver
from tests.topics import on_broker

pytestmark = pytest.mark.integration

AUTUMN = HolidayPeriod(
    name="herfstvakantie", first_day=date(2026, 10, 17), last_day=date(2026, 10, 25)
)
GOOD_FRIDAY = date(2027, 3, 26)


def directory_event(payload: EventPayload, swv: str = SWV, at: datetime = T0) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/assignment",
        type=payload.event_type,
        subject=f"directory:{swv}",
        time=at,
        swv=swv,
        correlationid=str(uuid4()),
        causationid=f"cmd:{uuid4()}",
        actor="beheer",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


def school(school_id: str, region: str | None, at: datetime, swv: str = SWV) -> SchoolRegistered:
    return SchoolRegistered(
        swv_id=swv,
        school_id=school_id,
        name=school_id,
        municipality="GM0622",
        holiday_region=region,
        registered_at=at,
    )


def holidays(region: str, *periods: HolidayPeriod) -> SchoolHolidaysConfigured:
    return SchoolHolidaysConfigured(
        swv_id=SWV, region=region, periods=list(periods), configured_at=T0
    )


async def projected(
    pool: asyncpg.Pool, events: list[CloudEvent], swv: str, schools: list[str | None]
) -> dict[str, WorkingCalendar]:
    projection = Calendars()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE SCHEMA IF NOT EXISTS rm_calendars_test")
        await conn.execute("SET LOCAL search_path TO rm_calendars_test")
        if await conn.fetchval("SELECT to_regclass('rm_calendars_test.swv_calendars')") is None:
            await projection.setup(conn)
        for event in events:
            await projection.handle(conn, event, parse(event))
        return await fetch_calendars(conn, swv, schools)


async def test_w21_s_the_calendar_of_a_school_is_its_swvs_policy_and_its_regions_holidays(
    service: Service,
) -> None:
    later = T0 + timedelta(days=1)
    events = [
        directory_event(
            SwvConfigured(
                swv_id=SWV,
                name="Waterweg",
                configured_at=T0,
                calendar=CalendarPolicy(good_friday="working"),
            )
        ),
        directory_event(school("brin-a", "zuid", later)),
        # An older registration arriving late (another partition, a replay) changes nothing.
        directory_event(school("brin-a", "noord", T0)),
        directory_event(holidays("zuid", AUTUMN)),
        directory_event(holidays("noord")),
        # Another SWV's school of the same id and its region are not this SWV's.
        directory_event(school("brin-a", "noord", later, swv="swv-elders"), swv="swv-elders"),
    ]
    found = await projected(service.pool, events, SWV, ["brin-a", "brin-unknown", None])
    brin_a, unknown = found["brin-a"], found["brin-unknown"]
    assert not brin_a.is_working_day(date(2026, 10, 20))  # the autumn holiday of zuid
    assert brin_a.is_working_day(GOOD_FRIDAY)  # the SWV's schools work on Good Friday
    assert unknown.is_working_day(date(2026, 10, 20))  # no region known: no holidays
    assert unknown.is_working_day(GOOD_FRIDAY)  # but the SWV's policy all the same
    assert found[""].is_working_day(GOOD_FRIDAY)  # no school named: the SWV's policy
    nothing_known = await projected(service.pool, [], "swv-nieuw", ["brin-x"])
    assert not nothing_known["brin-x"].is_working_day(GOOD_FRIDAY)  # the defaults


async def publish(broker: Broker, *events: CloudEvent) -> None:
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = await start_producer(broker.bootstrap_servers, kind)
    try:
        for event in events:
            key, kafka_headers, value = event.to_kafka()
            await producer.send_and_wait(
                on_broker(topics.ASSIGNMENT), value=value, key=key, headers=kafka_headers
            )
    finally:
        await producer.stop()


async def planned(service: Service, school_id: str) -> UUID:
    """A claimed case of ``school_id`` whose plan is evaluated on Monday 26 October 2026."""
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id, school=school_id))
    today = service.clock().date()
    await post(service.http, case_id, "start-conversation", conversation(today))
    await post(service.http, case_id, "plans", plan(today, supported=("teacher",)))
    return case_id


async def test_w21_s_a_school_holiday_before_the_evaluation_brings_the_reminder_forward(
    service: Service, broker: Broker
) -> None:
    # The whole week before Monday 26 October is the autumn holiday of the school's region:
    # five working days before it is 12 October there, 19 October at a school without it.
    await publish(
        broker,
        directory_event(school("brin-herfst", "midden", T0)),
        directory_event(holidays("midden", AUTUMN)),
    )
    in_holiday_region = await planned(service, "brin-herfst")
    elsewhere = await planned(service, SCHOOL)
    due_on = date(2026, 10, 26)
    service.clock.advance(days=30)  # Wednesday 14 October
    try:

        async def statuses() -> dict[str, str] | None:
            url = f"/workers/{WORKER}/evaluations-due"
            response = await service.http.get(url, headers=WORKER_H)
            assert response.status_code == 200, response.text
            rows: list[dict[str, Any]] = response.json()["evaluations"]
            found = {
                r["case_id"]: r["status"]
                for r in rows
                if r["case_id"] in (str(in_holiday_region), str(elsewhere))
                and r["due_on"] == due_on.isoformat()
            }
            ready = len(found) == 2 and found[str(in_holiday_region)] == "due"
            return found if ready else None

        found = await eventually(statuses, timeout=30, what="the school's calendar applied")
        assert found[str(elsewhere)] == "upcoming"

        async def reminded(case_id: UUID) -> list[str]:
            records = await service.store.read_stream(str(case_id))
            return [r.event_type for r in records if "EvaluationReminded" in r.event_type]

        async def holiday_case_reminded() -> bool:
            return bool(await reminded(in_holiday_region))

        await eventually(holiday_case_reminded, timeout=30, what="reminder before the holiday")
        assert await reminded(elsewhere) == []
        view = (
            await service.http.get(f"/cases/{in_holiday_region}/trajectory", headers=WORKER_H)
        ).json()
        assert [(d["kind"], d["status"]) for d in view["evaluations_due"]] == [("plan", "due")]
    finally:
        service.clock.advance(days=-30)
