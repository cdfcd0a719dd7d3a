"""Every state-changing trajectory endpoint takes an ``Idempotency-Key``: the same key and body
append once and answer the same, even after the case moved on; another body is refused (422)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

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
    session,
)
from tests.integration.trajectory.kit import claimed, consent_confirmed, deliver, headers
from tests.integration.trajectory.regions import configure_region

pytestmark = pytest.mark.integration

MEMBER_H = headers("team_no_member", "tno-1", region="waterweg")

# Every POST of the service, as the OpenAPI document names it.
COMMANDS = {
    "/cases/{case_id}/start-conversation",
    "/cases/{case_id}/specialist-analysis",
    "/cases/{case_id}/plans",
    "/cases/{case_id}/support/start",
    "/cases/{case_id}/sessions",
    "/cases/{case_id}/signals",
    "/cases/{case_id}/signals/{signal_id}/acknowledgement",
    "/cases/{case_id}/evaluations",
    "/cases/{case_id}/close",
    "/cases/{case_id}/opp",
    "/cases/{case_id}/opp/evaluations",
    "/cases/{case_id}/youth-care",
    "/cases/{case_id}/case-director",
    "/cases/{case_id}/escalations",
    "/cases/{case_id}/team-no-decision",
}


class Keyed:
    """Posts each command twice with one key and checks the second changes nothing."""

    def __init__(self, service: Service, case_id: UUID) -> None:
        self.service = service
        self.case_id = case_id
        self.first: dict[str, tuple[str, Any, dict[str, str], dict[str, Any]]] = {}

    async def version(self) -> int:
        return len(await self.service.store.read_stream(str(self.case_id)))

    async def twice(self, path: str, body: Any = None, auth: dict[str, str] = WORKER_H) -> None:
        key = f"{path}-{uuid4()}"
        keyed = {**auth, "Idempotency-Key": key}
        before = await self.version()
        first = await post(self.service.http, self.case_id, path, body, auth=keyed)
        assert first["events"], path
        after = await self.version()
        assert after == before + len(first["events"]), path
        again = await post(self.service.http, self.case_id, path, body, auth=keyed)
        assert again == first, path
        assert await self.version() == after, f"{path}: the retry appended"
        self.first[path] = (key, body, auth, first)

    async def replay(self, path: str) -> None:
        """The first key and body once more, now the case has moved on: the first answer."""
        key, body, auth, first = self.first[path]
        before = await self.version()
        again = await post(
            self.service.http, self.case_id, path, body, auth={**auth, "Idempotency-Key": key}
        )
        assert again == first, path
        assert await self.version() == before, path


async def test_openapi_lists_the_idempotency_key_on_every_command(service: Service) -> None:
    document = (await service.http.get("/openapi.json")).json()
    posts = {path for path, ops in document["paths"].items() if "post" in ops}
    assert posts >= COMMANDS
    for path in COMMANDS:
        names = {p["name"] for p in document["paths"][path]["post"].get("parameters", [])}
        assert "Idempotency-Key" in names, path


async def test_the_same_key_and_body_append_once_on_every_endpoint(
    service: Service, broker: Broker
) -> None:
    await configure_region(service, broker)  # the escalation below goes to waterweg
    case_id = uuid4()
    today = service.clock().date()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await deliver(service.pool, service.store, consent_confirmed(case_id), clock=service.clock)
    k = Keyed(service, case_id)
    await k.twice("start-conversation", conversation(today))
    await k.twice("specialist-analysis", {"analysis": "Lezen en aandacht."}, auth=SPECIALIST_H)
    await k.twice("plans", plan(today))
    await k.twice("support/start")
    await k.twice("sessions", session(today))
    signal_id = str(uuid4())
    signal = {
        "signal_id": signal_id,
        "addressed_to": ["ib"],
        "about": "school_offer",
        "description": "Het aanbod past niet.",
    }
    await k.twice("signals", signal)
    await k.twice(f"signals/{signal_id}/acknowledgement", {"response": "Besproken"}, auth=IB_H)
    await k.twice("opp", {"drawn_up_on": today.isoformat()}, auth=IB_H)
    await k.twice("opp/evaluations", {"evaluated_on": today.isoformat(), "summary": "ok"}, IB_H)
    await k.twice("youth-care", {"wijkteam_worker_id": "wt-karim", "reason": "Thuis hulp"})
    await k.twice("case-director", {"role": "ib", "person_id": "ib-marieke", "reason": "OT"})
    escalation = {
        "escalation_id": str(uuid4()),
        "municipality": "GM0622",
        "reasons": ["waiting_list"],
        "draft_plan": "Overbrugging.",
    }
    await k.twice("escalations", escalation)
    decision = {"decision": "Overbrugging", "assignment": "Wijkteam", "provider": "Zorg X"}
    await k.twice("team-no-decision", decision, auth=MEMBER_H)
    await k.twice("evaluations", evaluation("close"))
    await k.twice("close")
    done = {"/cases/{case_id}/" + p.replace(signal_id, "{signal_id}") for p in k.first}
    assert done == COMMANDS
    # The trajectory is closed now; each first request, retried, still gets its answer.
    for path in k.first:
        await k.replay(path)


async def test_the_same_key_with_another_body_is_refused(service: Service) -> None:
    case_id = uuid4()
    today = service.clock().date()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(today))
    keyed = {**WORKER_H, "Idempotency-Key": f"plan-{case_id}"}
    first = await post(service.http, case_id, "plans", plan(today), auth=keyed)
    other = plan(today, supported=("teacher",))
    answer = await post(service.http, case_id, "plans", other, auth=keyed, expect=422)
    assert answer["rule"] == "idempotency"
    # The same key on another case is another request too.
    other_case = uuid4()
    await deliver(service.pool, service.store, claimed(other_case), clock=service.clock)
    await post(service.http, other_case, "start-conversation", conversation(today))
    answer = await post(service.http, other_case, "plans", plan(today), auth=keyed, expect=422)
    assert answer["rule"] == "idempotency"
    # Neither refusal appended anything; the first answer still stands.
    records = await service.store.read_stream(str(case_id))
    assert [r.event_type.split(".")[-2] for r in records].count("PlanRecorded") == 1
    assert await post(service.http, case_id, "plans", plan(today), auth=keyed) == first
    others = await service.store.read_stream(str(other_case))
    assert "PlanRecorded" not in [r.event_type.split(".")[-2] for r in others]


async def test_without_a_key_a_repeated_post_is_decided_again(service: Service) -> None:
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    body = {
        "signal_id": str(uuid4()),
        "addressed_to": ["teacher"],
        "about": "teaching_practice",
        "description": "Instructies zijn lang.",
    }
    await post(service.http, case_id, "signals", body)
    answer = await post(service.http, case_id, "signals", body, expect=409)
    assert answer["rule"] == "W18"
