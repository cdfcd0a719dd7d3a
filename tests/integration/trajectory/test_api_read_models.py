"""Read models over HTTP: trajectory from the bus, evaluations due and reminded, Team NO."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from passend_backbone.kafka_io import start_producer
from passend_backbone.kafka_settings import BrokerKind
from passend_contracts import topics
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import (
    WORKER_H,
    conversation,
    evaluation,
    plan,
    post,
    trajectory,
)
from tests.integration.trajectory.kit import (
    SCHOOL,
    WORKER,
    claimed,
    cloud_event,
    consent_confirmed,
    deliver,
    headers,
)
from tests.integration.trajectory.regions import configure_region
from tests.topics import on_broker

pytestmark = pytest.mark.integration


async def publish(broker: Broker, topic: str, payload: EventPayload, source: str) -> None:
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = await start_producer(broker.bootstrap_servers, kind)
    try:
        key, kafka_headers, value = cloud_event(payload, source).to_kafka()
        await producer.send_and_wait(topic, value=value, key=key, headers=kafka_headers)
    finally:
        await producer.stop()


async def opened(service: Service) -> UUID:
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(service.clock().date()))
    return case_id


async def test_w25_w10_claim_and_consent_on_the_bus_reach_the_trajectory(
    service: Service, broker: Broker
) -> None:
    case_id = uuid4()
    await publish(broker, on_broker(topics.INTAKE), consent_confirmed(case_id), "/passend/intake")
    await publish(broker, on_broker(topics.ASSIGNMENT), claimed(case_id), "/passend/assignment")
    view = await trajectory(
        service.http, case_id, until=lambda v: v["consent"] is not None and v["opened"]
    )
    assert view["status"] == "exploring"
    assert view["opened"]["worker_id"] == WORKER
    assert view["consent"]["status"] == "confirmed"
    assert view["case_director"]["role"] == "ib"


async def test_w15_the_trajectory_shows_every_plan_revision_and_evaluation(
    service: Service,
) -> None:
    case_id = await opened(service)
    today = service.clock().date()
    await post(service.http, case_id, "plans", plan(today, supported=("teacher",)))
    await post(service.http, case_id, "evaluations", evaluation("revise_plan"))
    revised = plan(today, supported=("teacher", "group"), reason="wider", goals=("goal-1", "g2"))
    await post(service.http, case_id, "plans", revised)
    view = await trajectory(service.http, case_id, until=lambda v: len(v["plans"]) == 2)
    assert [p["revision"] for p in view["plans"]] == [1, 2]
    assert view["plans"][0]["supported"] == ["teacher"]
    assert view["current_plan_revision"] == 2
    assert [e["outcome"] for e in view["evaluations"]] == ["revise_plan"]


async def due_for(service: Service, case_id: UUID, auth: dict[str, str] = WORKER_H) -> Any:
    async def probe() -> list[dict[str, Any]] | None:
        response = await service.http.get(f"/workers/{WORKER}/evaluations-due", headers=auth)
        assert response.status_code == 200, response.text
        rows = [r for r in response.json()["evaluations"] if r["case_id"] == str(case_id)]
        return rows or None

    return await eventually(probe, timeout=30, what="evaluation due")


async def test_w21_evaluations_due_per_worker_and_reminded_once(service: Service) -> None:
    case_id = await opened(service)
    today = service.clock().date()
    await post(service.http, case_id, "plans", plan(today, supported=("teacher",)))
    [row] = await due_for(service, case_id)
    due_on = today + timedelta(weeks=6)
    assert (row["kind"], row["due_on"], row["status"]) == ("plan", due_on.isoformat(), "upcoming")
    assert row["school_id"] == SCHOOL  # the coordinator filters by school and municipality
    # Another worker (of no work unit of the case) sees none of the worker's cases (issue 9).
    other = headers("support_worker", "ow-other", work_unit_id="wu-other")
    response = await service.http.get(f"/workers/{WORKER}/evaluations-due", headers=other)
    assert response.status_code == 200
    assert str(case_id) not in response.text
    teacher = headers("teacher", "t-1", school_id=SCHOOL)
    response = await service.http.get(f"/workers/{WORKER}/evaluations-due", headers=teacher)
    assert response.status_code == 403
    service.clock.advance(weeks=6, days=-2)  # inside the reminder window
    try:
        [row] = await due_for(service, case_id)
        assert row["status"] == "due"

        async def reminded() -> list[str] | None:
            records = await service.store.read_stream(str(case_id))
            found = [r.event_type for r in records if "EvaluationReminded" in r.event_type]
            return found or None

        assert len(await eventually(reminded, timeout=30, what="reminder")) == 1
    finally:
        service.clock.advance(weeks=-6, days=2)


async def test_tno_team_no_agenda_and_stagnation_report_per_region(
    service: Service, broker: Broker
) -> None:
    region = f"delfland-{uuid4().hex[:6]}"  # the SWV's region for Delft, its own Team NO
    municipality = "GM0503"  # Delft
    await configure_region(service, broker, region, [municipality])
    cases = [await opened(service) for _ in range(2)]
    for case_id, reasons in zip(
        cases, (["waiting_list"], ["waiting_list", "budget_dispute"]), strict=True
    ):
        body = {
            "escalation_id": str(uuid4()),
            "municipality": municipality,
            "reasons": reasons,
            "draft_plan": "draft",
        }
        await post(service.http, case_id, "escalations", body)
    member = headers("team_no_member", "tno-1", region=region)

    async def agenda() -> list[dict[str, Any]] | None:
        response = await service.http.get(f"/regions/{region}/team-no-agenda", headers=member)
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["cases"]
        return listed if len(listed) == 2 else None

    listed = await eventually(agenda, timeout=30, what="Team NO agenda")
    assert {c["case_id"] for c in listed} == {str(c) for c in cases}
    decision = {"decision": "bridging care", "assignment": "wijkteam", "provider": "X"}
    await post(service.http, cases[0], "team-no-decision", decision, auth=member)
    await trajectory(service.http, cases[0], until=lambda v: v["escalations"][0]["decision"])
    response = await service.http.get(f"/regions/{region}/team-no-agenda", headers=member)
    assert [c["case_id"] for c in response.json()["cases"]] == [str(cases[1])]
    response = await service.http.get(f"/regions/{region}/stagnations", headers=member)
    report = response.json()
    assert report["escalations"] == 2
    assert report["by_reason"] == {"budget_dispute": 1, "waiting_list": 2}
    assert report["by_municipality"] == {municipality: 2}
    # TNO: over a chosen period (days in Dutch time, both included).
    today = service.clock().astimezone(ZoneInfo("Europe/Amsterdam")).date()
    for period, expected in (
        ({"since": today.isoformat()}, 2),
        ({"until": today.isoformat()}, 2),
        ({"until": (today - timedelta(days=1)).isoformat()}, 0),
        ({"since": (today + timedelta(days=1)).isoformat()}, 0),
    ):
        response = await service.http.get(
            f"/regions/{region}/stagnations", headers=member, params=period
        )
        assert response.json()["escalations"] == expected, period
    backwards = {"since": today.isoformat(), "until": (today - timedelta(days=1)).isoformat()}
    response = await service.http.get(
        f"/regions/{region}/stagnations", headers=member, params=backwards
    )
    assert response.status_code == 422, response.text
    stranger = headers("team_no_member", "tno-2", region="waterweg")
    response = await service.http.get(f"/regions/{region}/stagnations", headers=stranger)
    assert response.status_code == 403
    assert response.json()["rule"] == "TNO"
    # A member reads the escalated cases of their own region only.
    view = await trajectory(service.http, cases[1], auth=member)
    assert view["escalations"][0]["escalated"]["region"] == region
    response = await service.http.get(f"/cases/{cases[1]}/trajectory", headers=stranger)
    assert response.status_code == 404


async def test_an_auditor_sees_the_trajectory_as_it_stood_on_a_date(service: Service) -> None:
    case_id = await opened(service)
    today = service.clock().date()
    await post(service.http, case_id, "plans", plan(today, supported=("teacher",)))
    await post(service.http, case_id, "plans", plan(today, reason="wider", goals=("g1", "g2")))
    records = await service.store.read_stream(str(case_id))
    first_plan = next(r for r in records if r.event_type.endswith("PlanRecorded.v1"))
    auditor = headers("auditor", "audit-1")
    response = await service.http.get(
        f"/cases/{case_id}/trajectory",
        params={"as_of": first_plan.occurred_at.isoformat()},
        headers=auditor,
    )
    assert response.status_code == 200, response.text
    assert [p["revision"] for p in response.json()["plans"]] == [1]
    current = await trajectory(service.http, case_id, until=lambda v: len(v["plans"]) == 2)
    assert current["current_plan_revision"] == 2
    foreign = headers("auditor", "audit-2", swv="swv-elders")
    response = await service.http.get(
        f"/cases/{case_id}/trajectory",
        params={"as_of": first_plan.occurred_at.isoformat()},
        headers=foreign,
    )
    assert response.status_code == 404


async def test_w6_w15_days_per_phase_for_a_school_and_who_may_see_them(
    service: Service,
) -> None:
    school = f"brin-{uuid4().hex[:6]}"  # this test's own school: figures of its case only
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id, school=school), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(service.clock().date()))
    service.clock.advance(days=2)
    try:
        await post(
            service.http, case_id, "plans", plan(service.clock().date(), supported=("teacher",))
        )
    finally:
        service.clock.advance(days=-2)
    coordinator = headers("coordinator", "co-1")

    async def figures() -> dict[str, Any] | None:
        response = await service.http.get(
            "/lead-times", headers=coordinator, params={"school_id": school}
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        by_phase = {p["phase"]: p for p in found["phases"]}
        return found if by_phase["to_plan"]["cases"] == 1 else None

    found = await eventually(figures, timeout=30, what="days per phase")
    by_phase = {p["phase"]: p for p in found["phases"]}
    assert found["trajectories"] == 1
    assert by_phase["to_start_conversation"]["cases"] == 1
    # From the start of the conversation's (Dutch) day to the plan two days later.
    assert 2 <= by_phase["to_plan"]["avg_days"] < 3
    assert by_phase["to_support"] == {
        "phase": "to_support",
        "cases": 0,
        "avg_days": None,
        "median_days": None,
    }
    response = await service.http.get("/lead-times", headers=WORKER_H, params={"school_id": school})
    assert response.status_code == 403
    # Several schools at once (a municipality's): their trajectories together; another
    # school without any adds none.
    elsewhere = f"brin-{uuid4().hex[:6]}"
    response = await service.http.get(
        "/lead-times", headers=coordinator, params=[("school_id", school), ("school_id", elsewhere)]
    )
    assert response.status_code == 200 and response.json()["trajectories"] == 1
    response = await service.http.get(
        "/lead-times", headers=coordinator, params={"school_id": elsewhere}
    )
    assert response.json()["trajectories"] == 0
