"""The teacher's part (C, W16) and invitations to an adviser (C), through the running service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered
from passend_contracts.events.intake import RequestSubmitted, SupportLevel
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import (
    IB_H,
    SPECIALIST_H,
    conversation,
    post,
    publish,
    trajectory,
)
from tests.integration.trajectory.kit import IB, SCHOOL, SWV, T0, WORKER, claimed, deliver, headers

pytestmark = pytest.mark.integration

TEACHER = "lk-sanne"
OTHER_TEACHER = "lk-pieter"


def teacher_h(subject: str, pupil: str) -> dict[str, str]:
    return auth_header("teacher", SWV, subject=subject, school_id=SCHOOL, pupil_refs=(pupil,))


def person(person_id: str, groups: list[str], at_minutes: int = 0) -> PersonRegistered:
    return PersonRegistered(
        swv_id=SWV,
        person_id=person_id,
        display_name=person_id,
        roles=["teacher"],
        school_id=SCHOOL,
        groups=groups,
        registered_at=T0 + timedelta(minutes=at_minutes),
    )


async def a_case_with_its_pupil(service: Service, broker: Broker, pupil: str) -> UUID:
    """A claimed case whose pupil ``pupil`` the service knows from intake's request."""
    case_id = uuid4()
    submitted = RequestSubmitted(
        case_id=case_id,
        school_id=SCHOOL,
        ib_id=IB,
        addressed_worker_id=WORKER,
        pupil_ref=pupil,
        levels=[SupportLevel.PUPIL],
        educational_need="Komt niet tot werken.",
        tried_in_basic_support="Een timer.",
        why_stuck="Geen groei.",
        multiple_problems=False,
        specialist_advised=False,
        submitted_at=T0,
    )
    await publish(broker, submitted)
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    return case_id


def measure_body(service: Service) -> dict[str, Any]:
    today = service.clock().date()
    return {
        "measure_id": str(uuid4()),
        "description": "Een timer op de tafel voor de eerste tien minuten.",
        "tried_from": (today - timedelta(days=7)).isoformat(),
        "observations": "Begint sneller op drie van de vijf dagen.",
    }


async def accepted(http: httpx.AsyncClient, case_id: UUID, path: str, body: Any, auth: Any) -> Any:
    """The command once the service caught up with the directory and the case's reach
    (a refusal before that writes nothing)."""

    async def attempt() -> Any:
        answer = await http.post(f"/cases/{case_id}/{path}", json=body, headers=auth)
        return answer.json() if answer.status_code == 200 else None

    return await eventually(attempt, timeout=30, what=f"{path} accepted")


async def test_c_w16_a_teacher_of_the_pupils_group_records_measures_and_reflections(
    service: Service, broker: Broker
) -> None:
    pupil = f"p-{uuid4().hex[:6]}"
    case_id = await a_case_with_its_pupil(service, broker, pupil)
    await publish(broker, person(TEACHER, ["groep 5b"]), person(OTHER_TEACHER, ["groep 7"]))
    today = service.clock().date()
    sanne, pieter = teacher_h(TEACHER, pupil), teacher_h(OTHER_TEACHER, pupil)

    # No group yet: no teacher records (409); the start conversation names it.
    await trajectory(service.http, case_id, auth=sanne)
    refused = await post(service.http, case_id, "measures", measure_body(service), sanne, 409)
    assert refused["rule"] == "W16"
    await post(
        service.http, case_id, "start-conversation", {**conversation(today), "group": "groep 5b"}
    )

    tried = measure_body(service)
    await accepted(service.http, case_id, "measures", tried, sanne)
    refused = await post(service.http, case_id, "measures", measure_body(service), pieter, 403)
    assert refused["rule"] == "W16"
    refused = await post(service.http, case_id, "measures", measure_body(service), IB_H, 403)
    assert refused["rule"] == "roles"
    out_of_reach = teacher_h(TEACHER, "p-someone-else")
    await post(service.http, case_id, "measures", measure_body(service), out_of_reach, 404)

    reflection = {
        "reflection_id": str(uuid4()),
        "measure_ids": [tried["measure_id"]],
        "held_on": today.isoformat(),
        "reflection": "De timer helpt 's ochtends, na de pauze niet.",
        "adjustments": "Na de pauze een picto als geheugensteun.",
    }
    await post(service.http, case_id, "reflections", reflection, sanne)
    view = await trajectory(service.http, case_id, until=lambda v: v["reflections"], auth=sanne)
    assert view["group"] == "groep 5b"
    assert [m["recorded_by"] for m in view["measures"]] == [TEACHER]
    assert view["reflections"][0]["worker_id"] == WORKER

    # A new school year: the IB notes the new group, and its teacher takes over.
    await post(service.http, case_id, "group", {"group": "groep 7"}, IB_H)
    await accepted(service.http, case_id, "measures", measure_body(service), pieter)
    refused = await post(service.http, case_id, "measures", measure_body(service), sanne, 403)
    assert "groep 7" in refused["detail"]

    # A teacher who left the directory records nothing any more.
    left = PersonDeactivated(
        swv_id=SWV, person_id=OTHER_TEACHER, reason="Left", deactivated_at=T0 + timedelta(hours=1)
    )
    await publish(broker, left)

    async def refused_now() -> bool:
        answer = await service.http.post(
            f"/cases/{case_id}/measures", json=measure_body(service), headers=pieter
        )
        return answer.status_code == 403

    await eventually(refused_now, timeout=30, what="a deactivated teacher refused")


async def test_c_any_partner_invites_a_named_adviser_who_sees_the_invitation(
    service: Service, broker: Broker
) -> None:
    pupil = f"p-{uuid4().hex[:6]}"
    case_id = await a_case_with_its_pupil(service, broker, pupil)
    meeting_on = (service.clock().date() + timedelta(days=7)).isoformat()
    invitation = {
        "invitation_id": str(uuid4()),
        "adviser_id": "os-marleen",
        "goal": "Samen besluiten of verwijzing naar het SBO onderzocht wordt.",
        "occasion": "reorientation",
        "meeting_on": meeting_on,
    }
    await accepted(service.http, case_id, "invitations", invitation, teacher_h(TEACHER, pupil))
    second = {**invitation, "invitation_id": str(uuid4()), "occasion": "warning_sign"}
    await post(service.http, case_id, "invitations", second, IB_H)
    out_of_reach = headers("ib", "ib-x", school_id="brin-99zz")
    await post(service.http, case_id, "invitations", second, out_of_reach, 404)

    adviser = headers("education_specialist", "os-marleen")

    async def listed() -> Any:
        answer = await service.http.get("/invitations", headers=adviser)
        found = [i for i in answer.json()["invitations"] if i["case_id"] == str(case_id)]
        return found if len(found) == 2 else None

    found = await eventually(listed, timeout=30, what="the adviser's invitations")
    assert {i["invited_by"] for i in found} == {TEACHER, IB}
    assert {i["occasion"] for i in found} == {"reorientation", "warning_sign"}
    assert all(i["case_status"] == "exploring" and i["meeting_on"] == meeting_on for i in found)
    others = (await service.http.get("/invitations", headers=SPECIALIST_H)).json()
    assert others["invitations"] == []
    other_swv = headers("education_specialist", "os-marleen", swv="swv-elders")
    assert (await service.http.get("/invitations", headers=other_swv)).json()["invitations"] == []
