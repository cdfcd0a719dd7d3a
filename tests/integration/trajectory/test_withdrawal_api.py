"""W1: intake's withdrawal ends the trajectory in the running service, before or after the claim."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from passend_contracts.events.intake import RequestWithdrawn
from passend_trajectory.domain.facts import WITHDRAWN_BY_SCHOOL
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import (
    SPECIALIST_H,
    conversation,
    plan,
    post,
    session,
    trajectory,
)
from tests.integration.trajectory.kit import IB, T0, claimed, deliver

pytestmark = pytest.mark.integration


def withdrawal(case_id: UUID, days: int = 1) -> RequestWithdrawn:
    return RequestWithdrawn(
        case_id=case_id,
        withdrawn_by=IB,
        reason="Opgelost binnen de basisondersteuning.",
        withdrawn_at=T0 + timedelta(days=days),
    )


async def test_w1_a_withdrawal_ends_the_trajectory_and_every_step_after_it_is_refused(
    service: Service,
) -> None:
    case_id = uuid4()
    today = service.clock().date()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(today))
    await post(service.http, case_id, "plans", plan(today, supported=("teacher",)))
    await post(service.http, case_id, "support/start")
    await post(service.http, case_id, "sessions", session(today))
    await deliver(service.pool, service.store, withdrawal(case_id), clock=service.clock)
    refused = await post(service.http, case_id, "sessions", session(today), expect=409)
    assert refused["rule"] == "W1"
    assert "withdrew the request on 2026-09-15" in refused["detail"]
    refused = await post(service.http, case_id, "plans", plan(today, reason="x"), expect=409)
    assert refused["rule"] == "W1"
    view = await trajectory(service.http, case_id, until=lambda v: v["status"] == "withdrawn")
    assert view["withdrawn"]["withdrawn_at"].startswith("2026-09-15T09:00")
    assert len(view["sessions"]) == 1  # what was done before stays on record
    assert view["evaluations_due"] == []


async def test_w1_a_withdrawal_before_the_racing_claim_still_ends_the_claimed_trajectory(
    service: Service,
) -> None:
    case_id = uuid4()
    await deliver(service.pool, service.store, withdrawal(case_id, days=0), clock=service.clock)
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    records = await service.store.read_stream(str(case_id))
    assert [r.event_type.split(".")[-2] for r in records] == [
        "TrajectoryWithdrawn",
        "TrajectoryOpened",
    ]
    view = await trajectory(service.http, case_id, until=lambda v: v["status"] == "withdrawn")
    assert view["opened"]["worker_id"] == "ow-anouk"
    refused = await post(
        service.http,
        case_id,
        "start-conversation",
        conversation(service.clock().date()),
        expect=409,
    )
    assert refused["rule"] == "W1"


async def test_w1_a_withdrawn_request_no_claim_opened_shows_as_withdrawn(
    service: Service,
) -> None:
    case_id = uuid4()
    await deliver(service.pool, service.store, withdrawal(case_id), clock=service.clock)
    # The specialist sees the whole SWV: the withdrawal is the trajectory's one fact.
    view = await trajectory(
        service.http, case_id, until=lambda v: v["status"] == "withdrawn", auth=SPECIALIST_H
    )
    assert view["opened"] is None
    # The school's words are sealed with intake's key (issue 20): trajectory says it in its own.
    assert view["withdrawn"]["reason"] == WITHDRAWN_BY_SCHOOL
