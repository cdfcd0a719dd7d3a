"""Reformulation after the claim (W6, W7) and withdrawal before a trajectory, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.trajectory import TrajectoryOpened
from passend_devstack.waiting import eventually
from tests.integration.intake.kit import NOW, SCHOOL, SWV, Intake, body, ib, publish, worker

pytestmark = pytest.mark.integration

REFORMULATION: dict[str, Any] = {
    "levels": ["pupil", "teacher"],
    "educational_need": "Needs predictable transitions between lessons.",
    "tried_in_basic_support": "Visual timetable for 8 weeks.",
    "why_stuck": "The teacher lacks a way to prepare transitions.",
    "agreed_by": [
        {"role": "ib", "party_id": "ib-7731"},
        {"role": "support_worker", "party_id": "worker-0192"},
    ],
    "reason": "The start conversation showed the question behind the question.",
}


def claimed(case_id: str) -> CaseClaimed:
    return CaseClaimed(
        case_id=UUID(case_id),
        school_id=SCHOOL,
        ib_id="ib-7731",
        worker_id="worker-0192",
        claimed_at=NOW,
    )


async def _progress(service: Intake, case_id: str, status: str) -> None:
    async def probe() -> bool:
        r = await service.http.get(f"/requests/{case_id}", headers=ib())
        return r.status_code == 200 and r.json()["status"] == status

    await eventually(probe, timeout=30, what=f"{case_id} {status}")


async def test_w6_w7_reformulation_after_the_claim_keeps_old_and_new_text(
    service: Intake,
) -> None:
    case_id = await service.submit(body())
    path = f"/requests/{case_id}/reformulations"
    early = await service.http.post(path, json=REFORMULATION, headers=worker())
    assert early.status_code == 409
    assert early.json()["rule"] == "W6"

    await publish(service.broker, SWV, claimed(case_id))
    await _progress(service, case_id, "claimed")

    lonely = {**REFORMULATION, "agreed_by": REFORMULATION["agreed_by"][:1] * 2}
    refused = await service.http.post(path, json=lonely, headers=worker())
    assert refused.status_code == 422
    assert refused.json()["rule"] == "W7"

    answer = await service.http.post(path, json=REFORMULATION, headers=worker())
    assert answer.status_code == 201, answer.text
    assert answer.json()["event_type"] == "nl.passend.intake.RequestReformulated.v1"

    async def reformulated() -> Any:
        detail = (await service.http.get(f"/requests/{case_id}", headers=ib())).json()
        return detail if detail["levels"] == ["pupil", "teacher"] else None

    detail = await eventually(reformulated, timeout=30, what="reformulation visible")
    assert detail["educational_need"] == REFORMULATION["educational_need"]
    event = detail["history"][-1]
    assert event["event_type"].endswith("RequestReformulated.v1")
    assert event["data"]["previous"]["levels"] == ["pupil"]
    assert event["data"]["current"]["why_stuck"] == REFORMULATION["why_stuck"]
    assert event["actor"] == "worker-0192"


async def test_withdrawal_with_a_reason_then_never_twice(service: Intake) -> None:
    case_id = await service.submit(body())
    path = f"/requests/{case_id}/withdrawal"
    no_reason = await service.http.post(path, json={"reason": ""}, headers=ib())
    assert no_reason.status_code == 422
    as_worker = await service.http.post(path, json={"reason": "x"}, headers=worker())
    assert as_worker.status_code == 403

    answer = await service.http.post(path, json={"reason": "Solved in class."}, headers=ib())
    assert answer.status_code == 200, answer.text
    again = await service.http.post(path, json={"reason": "Again."}, headers=ib())
    assert again.status_code == 409

    await _progress(service, case_id, "withdrawn")
    detail = (await service.http.get(f"/requests/{case_id}", headers=ib())).json()
    assert detail["withdrawal_reason"] == "Solved in class."


async def test_no_withdrawal_once_a_trajectory_started(service: Intake) -> None:
    case_id = await service.submit(body())
    opened = TrajectoryOpened(
        case_id=UUID(case_id), worker_id="worker-0192", opened_at=NOW + timedelta(hours=1)
    )
    await publish(service.broker, SWV, claimed(case_id), opened)
    await _progress(service, case_id, "in_trajectory")
    answer = await service.http.post(
        f"/requests/{case_id}/withdrawal", json={"reason": "Too late?"}, headers=ib()
    )
    assert answer.status_code == 409
    assert answer.json()["rule"] == "W15"
    assert await service.event_types(case_id) == ["RequestSubmitted"]
