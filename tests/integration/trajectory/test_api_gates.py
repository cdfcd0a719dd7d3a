"""Each gate refuses over HTTP naming its rule and what is missing (W6-W23, S, TNO)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from passend_contracts.events.assignment import SpecialistRequired
from passend_devstack.infra import Broker
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import (
    IB_H,
    SPECIALIST_H,
    WORKER_H,
    conversation,
    evaluation,
    plan,
    post,
    routed_to_unit,
    session,
)
from tests.integration.trajectory.kit import (
    SWV,
    claimed,
    consent_confirmed,
    consent_withdrawn,
    deliver,
    headers,
)
from tests.integration.trajectory.regions import configure_region

pytestmark = pytest.mark.integration


async def opened(service: Service, *, explored: bool = True) -> UUID:
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    if explored:
        await post(
            service.http, case_id, "start-conversation", conversation(service.clock().date())
        )
    return case_id


def refusal(answer: dict, rule: str) -> str:
    assert answer["rule"] == rule, answer
    message: str = answer["detail"]
    return message


async def test_w6_plan_before_the_start_conversation_is_refused(service: Service) -> None:
    case_id = await opened(service, explored=False)
    answer = await post(service.http, case_id, "plans", plan(service.clock().date()), expect=409)
    assert "no start conversation recorded" in refusal(answer, "W6")


async def test_w15_support_without_a_plan_is_refused(service: Service) -> None:
    case_id = await opened(service)
    answer = await post(service.http, case_id, "support/start", expect=409)
    assert "no plan recorded" in refusal(answer, "W15")


async def test_w10_individual_support_without_consent_is_refused(service: Service) -> None:
    case_id = await opened(service)
    await post(service.http, case_id, "plans", plan(service.clock().date()))
    answer = await post(service.http, case_id, "support/start", expect=409)
    assert "no parental consent recorded" in refusal(answer, "W10")


async def test_w10_a_session_after_withdrawal_is_refused_naming_the_date(service: Service) -> None:
    case_id = await opened(service)
    today = service.clock().date()
    await deliver(service.pool, service.store, consent_confirmed(case_id), clock=service.clock)
    await post(service.http, case_id, "plans", plan(today))
    await post(service.http, case_id, "support/start")
    withdrawn_at = service.clock() + timedelta(hours=1)
    await deliver(
        service.pool, service.store, consent_withdrawn(case_id, withdrawn_at), clock=service.clock
    )
    answer = await post(service.http, case_id, "sessions", session(today), expect=409)
    message = refusal(answer, "W10")
    assert f"consent withdrawn on {withdrawn_at.date().isoformat()}" in message
    assert "record new consent before the next session" in message


async def test_w14_a_complex_case_waits_for_the_specialists_analysis(service: Service) -> None:
    case_id = await opened(service)
    required = SpecialistRequired(
        case_id=case_id, swv_id=SWV, reason="multiple problems", required_at=service.clock()
    )
    await deliver(service.pool, service.store, required, clock=service.clock)
    await post(service.http, case_id, "plans", plan(service.clock().date(), supported=("group",)))
    answer = await post(service.http, case_id, "support/start", expect=409)
    assert "the education specialist's analysis must be recorded" in refusal(answer, "W14")
    await post(service.http, case_id, "specialist-analysis", {"analysis": "a"}, auth=SPECIALIST_H)
    await post(service.http, case_id, "support/start")


async def test_w23_only_the_cases_own_worker_records_sessions(
    service: Service, broker: Broker
) -> None:
    case_id = await opened(service)
    await post(service.http, case_id, "plans", plan(service.clock().date(), supported=("team",)))
    await post(service.http, case_id, "support/start")
    body = session(service.clock().date())
    # Of another work unit: the case is out of reach, as if it did not exist (issue 9).
    stranger = headers("support_worker", "ow-other", work_unit_id="wu-2")
    await post(service.http, case_id, "sessions", body, auth=stranger, expect=404)
    # A colleague of the unit sees the case, but the sessions are the own worker's record.
    await routed_to_unit(service.http, broker, case_id, "wu-1")
    colleague = headers("support_worker", "ow-other", work_unit_id="wu-1")
    answer = await post(service.http, case_id, "sessions", body, auth=colleague, expect=409)
    assert "own record" in refusal(answer, "W23")


async def test_w21_close_without_a_final_evaluation_is_refused(service: Service) -> None:
    case_id = await opened(service)
    await post(service.http, case_id, "plans", plan(service.clock().date()))
    answer = await post(service.http, case_id, "close", expect=409)
    assert "only after a final evaluation" in refusal(answer, "W21")
    await post(service.http, case_id, "evaluations", evaluation("continue"))
    answer = await post(service.http, case_id, "close", expect=409)
    assert "decided 'continue'" in refusal(answer, "W21")


async def test_s_care_level_4_without_an_opp_is_refused(service: Service) -> None:
    case_id = await opened(service)
    await post(service.http, case_id, "plans", plan(service.clock().date()))
    body = evaluation("change_care_level", care_level=4, reason="SBO")
    answer = await post(service.http, case_id, "evaluations", body, expect=409)
    assert "a TLV needs an OPP on record" in refusal(answer, "S")
    opp = {"drawn_up_on": service.clock().date().isoformat()}
    await post(service.http, case_id, "opp", opp, auth=IB_H)
    await post(
        service.http,
        case_id,
        "evaluations",
        evaluation("change_care_level", care_level=4, reason="SBO"),
    )


async def test_tno_team_no_decides_only_escalated_cases_of_its_own_region(
    service: Service, broker: Broker
) -> None:
    await configure_region(service, broker)  # waterweg: Maassluis, Schiedam, Vlaardingen
    case_id = await opened(service)
    decision = {"decision": "d", "assignment": "a", "provider": "p"}
    member = headers("team_no_member", "tno-1", region="waterweg")
    # Not escalated: not on any Team NO's agenda, so out of every member's reach (issue 9).
    await post(service.http, case_id, "team-no-decision", decision, auth=member, expect=404)
    escalation = {
        "escalation_id": str(uuid4()),
        "municipality": "GM0622",
        "reasons": ["waiting_list"],
        "draft_plan": "draft",
    }
    await post(service.http, case_id, "escalations", escalation)
    stranger = headers("team_no_member", "tno-2", region="GM0363")
    await post(service.http, case_id, "team-no-decision", decision, auth=stranger, expect=404)
    await post(service.http, case_id, "team-no-decision", decision, auth=member)


async def test_roles_tenants_and_validation(service: Service) -> None:
    case_id = await opened(service)
    body = plan(service.clock().date())
    answer = await post(service.http, case_id, "plans", body, auth=IB_H, expect=403)
    assert refusal(answer, "roles").startswith("role ib may not record a plan")
    foreign = headers("support_worker", "ow-anouk", swv="swv-elders")
    answer = await post(service.http, case_id, "plans", body, auth=foreign, expect=404)
    await post(service.http, uuid4(), "plans", body, expect=404)
    other_school = headers("ib", "ib-x", school_id="brin-99zz")
    await post(
        service.http, case_id, "opp", {"drawn_up_on": "2026-09-01"}, auth=other_school, expect=404
    )
    response = await service.http.post(f"/cases/{case_id}/plans", json={"goals": []}, headers=IB_H)
    assert response.status_code in (403, 422)
    response = await service.http.get(f"/cases/{case_id}/trajectory")
    assert response.status_code == 401


async def test_a_retried_post_with_the_same_idempotency_key_appends_once(service: Service) -> None:
    case_id = await opened(service)
    body = plan(service.clock().date())
    keyed = {**WORKER_H, "Idempotency-Key": f"plan-{case_id}"}
    first = await post(service.http, case_id, "plans", body, auth=keyed)
    again = await post(service.http, case_id, "plans", body, auth=keyed)
    assert first == again
    records = await service.store.read_stream(str(case_id))
    assert [r.event_type.split(".")[-2] for r in records].count("PlanRecorded") == 1
