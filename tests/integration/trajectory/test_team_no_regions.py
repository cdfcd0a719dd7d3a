"""TNO, issue 25: an escalation names the pupil's municipality by a CBS code that exists (422
naming the list otherwise, and nothing is recorded, so no event reaches the gateway and no
integration topic is asked for), and reaches the Team NO region the SWV's directory
configured for that municipality."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from passend_backbone.topics import KafkaTopics
from passend_contracts import topics
from passend_contracts.municipalities import SOURCE
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import conversation, evaluation, plan, post
from tests.integration.trajectory.kit import claimed, consent_confirmed, deliver, headers
from tests.integration.trajectory.regions import COORDINATOR_H, configure_region
from tests.topics import on_broker

pytestmark = pytest.mark.integration


async def supported(service: Service) -> UUID:
    """A claimed case with a plan, consent and support started: ready to evaluate."""
    case_id = uuid4()
    today = service.clock().date()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(today))
    await post(service.http, case_id, "plans", plan(today))
    await deliver(service.pool, service.store, consent_confirmed(case_id), clock=service.clock)
    await post(service.http, case_id, "support/start")
    return case_id


def escalation(municipality: str) -> dict[str, Any]:
    return {
        "escalation_id": str(uuid4()),
        "municipality": municipality,
        "reasons": ["waiting_list"],
        "draft_plan": "Overbrugging op school.",
    }


async def escalations_in_store(service: Service, case_id: UUID) -> list[str]:
    records = await service.store.read_stream(str(case_id))
    return [r.event_type for r in records if "EscalatedToTeamNO" in r.event_type]


async def agenda(service: Service, region: str, case_id: UUID) -> dict[str, Any]:
    member = headers("team_no_member", "tno-1", region=region)

    async def listed() -> dict[str, Any] | None:
        response = await service.http.get(f"/regions/{region}/team-no-agenda", headers=member)
        assert response.status_code == 200, response.text
        found = [c for c in response.json()["cases"] if c["case_id"] == str(case_id)]
        return found[0] if found else None

    found: dict[str, Any] = await eventually(listed, timeout=30, what=f"agenda of {region}")
    return found


@pytest.mark.parametrize(
    ("municipality", "says"),
    [
        ("Vlaardingen", "is not a municipality code such as GM0622"),
        ("GM9999", "GM9999 is not a municipality in"),
        ("GM0614", "GM0614 (Westvoorne) ended on 2023-01-01"),
    ],
)
async def test_tno_an_unknown_municipality_code_is_refused_and_nothing_is_recorded(
    service: Service, broker: Broker, municipality: str, says: str
) -> None:
    case_id = await supported(service)
    answer = await post(service.http, case_id, "escalations", escalation(municipality), expect=422)
    assert answer["field"] == "municipality"
    assert says in answer["detail"] and SOURCE in answer["detail"]
    # The same in an evaluation that escalates.
    body = evaluation("escalate", escalation=escalation(municipality))
    answer = await post(service.http, case_id, "evaluations", body, expect=422)
    assert SOURCE in answer["detail"]
    # Nothing recorded: no event for the gateway to route, so no topic for GM9999 either.
    assert await escalations_in_store(service, case_id) == []
    found = await KafkaTopics(broker.bootstrap_servers).describe(
        [on_broker(topics.integration(municipality)), topics.integration(municipality)]
    )
    assert set(found.values()) == {None}, "no integration topic for an unknown code"


async def test_tno_a_case_in_a_municipality_of_a_configured_region_is_on_its_agenda(
    service: Service, broker: Broker
) -> None:
    region = f"rijnmond-{uuid4().hex[:6]}"
    listed = await configure_region(service, broker, region, ["GM0599", "GM0597"])
    names = {m["code"]: m["name"] for m in listed["municipalities"]}
    assert names == {"GM0597": "Ridderkerk", "GM0599": "Rotterdam"}
    case_id = await supported(service)
    await post(service.http, case_id, "escalations", escalation("GM0597"))
    on_agenda = await agenda(service, region, case_id)
    assert on_agenda["municipality"] == "GM0597"
    records = await service.store.read_stream(str(case_id))
    [escalated] = [r for r in records if "EscalatedToTeamNO" in r.event_type]
    assert escalated.data["region"] == region
    # An evaluation that escalates goes there too.
    other = await supported(service)
    body = evaluation("escalate", escalation=escalation("GM0599"))
    await post(service.http, other, "evaluations", body)
    assert (await agenda(service, region, other))["municipality"] == "GM0599"


async def test_tno_a_municipality_no_region_covers_is_refused_with_what_to_do(
    service: Service,
) -> None:
    case_id = await supported(service)
    answer = await post(service.http, case_id, "escalations", escalation("GM0363"), expect=422)
    assert (answer["rule"], answer["field"]) == ("TNO", "municipality")
    assert "no Team NO region of this SWV covers GM0363 (Amsterdam)" in answer["detail"]
    assert await escalations_in_store(service, case_id) == []


async def test_tno_the_region_follows_the_swvs_configuration_not_code(
    service: Service, broker: Broker
) -> None:
    """A municipality moved to another region: the next escalation goes to the new one."""
    first, second = f"noord-{uuid4().hex[:6]}", f"zuid-{uuid4().hex[:6]}"
    await configure_region(service, broker, first, ["GM0014"])
    case_id = await supported(service)
    await post(service.http, case_id, "escalations", escalation("GM0014"))
    await agenda(service, first, case_id)
    later = service.clock() + timedelta(minutes=1)
    await configure_region(service, broker, first, [], at=later)
    await configure_region(service, broker, second, ["GM0014"], at=later)
    other = await supported(service)
    await post(service.http, other, "escalations", escalation("GM0014"))
    assert (await agenda(service, second, other))["municipality"] == "GM0014"


async def test_tno_workers_and_oversight_see_the_regions_others_do_not(service: Service) -> None:
    response = await service.http.get("/regions", headers=COORDINATOR_H)
    assert response.status_code == 200
    ib = headers("ib", "ib-marieke", school_id="brin-11aa")
    response = await service.http.get("/regions", headers=ib)
    assert response.status_code == 403
