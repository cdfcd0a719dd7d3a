"""The other endpoints follow their rules: signals, sessions, OPP, case director, closing."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from passend_devstack.infra import Broker
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import (
    IB_H,
    SPECIALIST_H,
    conversation,
    evaluation,
    plan,
    post,
    routed_to_unit,
    session,
    trajectory,
)
from tests.integration.trajectory.kit import IB, SCHOOL, claimed, deliver, headers

pytestmark = pytest.mark.integration


async def in_support(service: Service) -> UUID:
    case_id = uuid4()
    today = service.clock().date()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(today))
    await post(service.http, case_id, "plans", plan(today, supported=("teacher", "group")))
    await post(service.http, case_id, "support/start")
    return case_id


async def test_w18_w19_a_signal_is_raised_and_acknowledged_by_the_school(service: Service) -> None:
    case_id = await in_support(service)
    signal_id = str(uuid4())
    body = {
        "signal_id": signal_id,
        "addressed_to": ["teacher", "ib"],
        "about": "teaching_practice",
        "description": "Instructies zijn lang en alleen mondeling.",
    }
    await post(service.http, case_id, "signals", body)
    ack = {"response": "Besproken in het teamoverleg"}
    other_school = headers("ib", "ib-x", school_id="brin-99zz")
    path = f"signals/{signal_id}/acknowledgement"
    await post(service.http, case_id, path, ack, auth=other_school, expect=404)
    await post(service.http, case_id, path, ack, auth=IB_H)
    answer = await post(service.http, case_id, path, ack, auth=IB_H, expect=409)
    assert answer["rule"] == "W19"
    view = await trajectory(
        service.http, case_id, until=lambda v: v["signals"] and v["signals"][0]["acknowledged"]
    )
    assert view["signals"][0]["acknowledged"]["acknowledged_by"] == IB
    school_view = await trajectory(service.http, case_id, auth=IB_H)
    assert school_view["opened"]["school_id"] == SCHOOL


async def test_w23_sessions_add_up_hours_in_the_workers_record(service: Service) -> None:
    case_id = await in_support(service)
    today = service.clock().date()
    await post(service.http, case_id, "sessions", session(today, hours=1.5))
    await post(service.http, case_id, "sessions", session(today, hours=2.0))
    view = await trajectory(service.http, case_id, until=lambda v: len(v["sessions"]) == 2)
    assert view["session_hours"] == 3.5
    ib_session = await post(
        service.http, case_id, "sessions", session(today), auth=IB_H, expect=403
    )
    assert ib_session["rule"] == "roles"


async def test_w23_a_sessions_findings_reach_the_support_side_never_the_school(
    service: Service,
) -> None:
    """W23, issue 19: the findings are the worker's own record; the trajectory service
    itself leaves them out of the IB's answer (live and as of a moment), not the portal."""
    case_id = await in_support(service)
    noted = "Werkt zelfstandig bij korte opdrachten"
    body = {**session(service.clock().date()), "findings": noted}
    await post(service.http, case_id, "sessions", body)
    worker_view = await trajectory(service.http, case_id, until=lambda v: v["sessions"])
    assert worker_view["sessions"][0]["findings"] == noted
    specialist_view = await trajectory(service.http, case_id, auth=SPECIALIST_H)
    assert specialist_view["sessions"][0]["findings"] == noted
    school_view = await trajectory(service.http, case_id, auth=IB_H)
    [held] = school_view["sessions"]
    # The same answer otherwise: the school sees that a session was held, when, how long.
    assert held == {**worker_view["sessions"][0], "findings": None}
    assert school_view["session_hours"] == worker_view["session_hours"] == 1.5
    records = await service.store.read_stream(str(case_id))
    held_at = next(r for r in records if r.event_type.endswith("SessionRecorded.v1")).occurred_at
    replayed = await service.http.get(
        f"/cases/{case_id}/trajectory", params={"as_of": held_at.isoformat()}, headers=IB_H
    )
    assert replayed.status_code == 200, replayed.text
    assert [s["findings"] for s in replayed.json()["sessions"]] == [None]
    assert noted not in replayed.text and noted not in str(school_view)


async def test_s_opp_and_its_evaluation_are_recorded_and_due_again(service: Service) -> None:
    case_id = await in_support(service)
    today = service.clock().date()
    body = {"evaluated_on": today.isoformat(), "summary": "op koers"}
    answer = await post(service.http, case_id, "opp/evaluations", body, expect=409)
    assert "no OPP on record" in answer["detail"]
    await post(service.http, case_id, "opp", {"drawn_up_on": today.isoformat()}, auth=IB_H)
    await post(service.http, case_id, "opp/evaluations", body, auth=IB_H)
    view = await trajectory(service.http, case_id, until=lambda v: v["opp_evaluations"])
    assert {d["kind"] for d in view["evaluations_due"]} == {"plan", "opp"}


async def test_r_case_director_follows_youth_care_and_can_be_set(
    service: Service, broker: Broker
) -> None:
    case_id = await in_support(service)
    await routed_to_unit(service.http, broker, case_id, "wu-1")  # the coordinator's unit
    youth = {"wijkteam_worker_id": "wt-karim", "reason": "Thuis is hulp nodig"}
    await post(service.http, case_id, "youth-care", youth)
    view = await trajectory(
        service.http, case_id, until=lambda v: v["case_director"]["role"] == "wijkteam_worker"
    )
    assert view["case_director"]["person_id"] == "wt-karim"
    coordinator = headers("coordinator", "co-1", work_unit_id="wu-1")
    explicit = {"role": "ib", "person_id": IB, "reason": "Afgesproken in het OT"}
    await post(service.http, case_id, "case-director", explicit, auth=coordinator)
    view = await trajectory(service.http, case_id, until=lambda v: v["case_director"]["explicit"])
    assert [d["role"] for d in view["case_director_history"]] == ["ib", "wijkteam_worker", "ib"]
    answer = await post(
        service.http, case_id, "case-director", explicit, auth=coordinator, expect=409
    )
    assert answer["rule"] == "R"


async def test_w21_close_after_the_final_evaluation(service: Service) -> None:
    case_id = await in_support(service)
    await post(service.http, case_id, "evaluations", evaluation("close"))
    closed = await post(service.http, case_id, "close")
    assert [e["type"].split(".")[-2] for e in closed["events"]] == ["TrajectoryClosed"]
    view = await trajectory(service.http, case_id, until=lambda v: v["status"] == "closed")
    assert view["evaluations_due"] == []
    answer = await post(
        service.http, case_id, "sessions", session(service.clock().date()), expect=409
    )
    assert answer["rule"] == "W21"
