"""Request bodies and steps the trajectory API tests share."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from passend_backbone.kafka_io import start_producer
from passend_backbone.kafka_settings import BrokerKind
from passend_contracts import topics
from passend_contracts.events.assignment import RequestRouted
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.trajectory.kit import IB, SCHOOL, SWV, T0, WORKER, cloud_event, headers
from tests.topics import on_broker

WORKER_H = headers("support_worker", WORKER, work_unit_id="wu-1")
SPECIALIST_H = headers("education_specialist", "os-jeroen")
IB_H = headers("ib", IB, school_id=SCHOOL)


def conversation(today: date) -> dict[str, Any]:
    return {
        "participants": [WORKER, IB, "lk-sanne"],
        "sharpened_question": "Hoe komt Tim zelfstandig tot werken?",
        "levels": ["pupil", "teacher"],
        "held_on": today.isoformat(),
    }


def plan(
    today: date,
    *,
    supported: tuple[str, ...] = ("pupil",),
    reason: str | None = None,
    goals: tuple[str, ...] = ("goal-1",),
) -> dict[str, Any]:
    return {
        "goals": [
            {
                "goal_id": g,
                "description": "Starts work alone",
                "measure": "4 of 5 days",
                "target_date": (today + timedelta(weeks=12)).isoformat(),
            }
            for g in goals
        ],
        "supported": list(supported),
        "form": "coaching the teacher",
        "school_participants": [IB, "lk-sanne"],
        "duration_weeks": 12,
        "frequency": "every other week",
        "parents_informed": "by the teacher",
        "evaluation_method": "meeting with IB, teacher and parents",
        "evaluation_dates": [(today + timedelta(weeks=6)).isoformat()],
        "securing": "in the group plan",
        "reason": reason,
    }


def evaluation(outcome: str, goals: tuple[str, ...] = ("goal-1",), **extra: Any) -> dict[str, Any]:
    return {
        "evaluation_id": str(uuid4()),
        "participants": [WORKER, IB],
        "goal_results": [{"goal_id": g, "result": "partly"} for g in goals],
        "outcome": outcome,
        **extra,
    }


def session(today: date, hours: float = 1.5) -> dict[str, Any]:
    return {"session_id": str(uuid4()), "held_on": today.isoformat(), "hours": hours}


async def post(
    http: httpx.AsyncClient,
    case_id: UUID,
    path: str,
    body: Any = None,
    auth: dict[str, str] = WORKER_H,
    expect: int = 200,
    **kw: Any,
) -> dict[str, Any]:
    response = await http.post(f"/cases/{case_id}/{path}", json=body, headers=auth, **kw)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def trajectory(
    http: httpx.AsyncClient, case_id: UUID, until: Any = None, auth: dict[str, str] = WORKER_H
) -> dict[str, Any]:
    """The projected trajectory once ``until(view)`` holds (the read model catches up)."""

    async def probe() -> dict[str, Any] | None:
        response = await http.get(f"/cases/{case_id}/trajectory", headers=auth)
        if response.status_code != 200:
            return None
        view: dict[str, Any] = response.json()
        return view if until is None or until(view) else None

    return await eventually(probe, timeout=30, what=f"trajectory of {case_id}")


async def publish(broker: Broker, *payloads: EventPayload, swv: str = SWV) -> None:
    """Other services' events on their topics, as those services would publish them."""
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = await start_producer(broker.bootstrap_servers, kind)
    try:
        for payload in payloads:
            source = f"/passend/{payload.topic.split('.')[1]}"
            event = cloud_event(payload, source, swv)
            key, kafka_headers, value = event.to_kafka()
            await producer.send_and_wait(
                on_broker(payload.topic), value=value, key=key, headers=kafka_headers
            )
    finally:
        await producer.stop()


async def routed_to_unit(
    http: httpx.AsyncClient, broker: Broker, case_id: UUID, work_unit: str = "wu-1"
) -> None:
    """Assignment's routing of the case to ``work_unit``, once the service scopes by it
    (its coordinator then reads the trajectory: issue 9)."""
    routed = RequestRouted(
        case_id=case_id,
        swv_id=SWV,
        school_id=SCHOOL,
        receiving_worker_id=WORKER,
        routed_at=T0,
        work_unit_id=work_unit,
    )
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = await start_producer(broker.bootstrap_servers, kind)
    try:
        key, kafka_headers, value = cloud_event(routed, "/passend/assignment").to_kafka()
        await producer.send_and_wait(
            on_broker(topics.ASSIGNMENT), value=value, key=key, headers=kafka_headers
        )
    finally:
        await producer.stop()
    coordinator = headers("coordinator", "co-1", work_unit_id=work_unit)

    async def scoped() -> bool:
        answer = await http.get(f"/cases/{case_id}/trajectory", headers=coordinator)
        return answer.status_code == 200

    await eventually(scoped, timeout=30, what=f"case routed to {work_unit}")
