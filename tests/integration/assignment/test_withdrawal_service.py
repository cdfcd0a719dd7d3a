"""The running service: intake's consent shows in the case view; a withdrawn request leaves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, load_directory_file
from passend_assignment.service import build_spec
from passend_backbone.auth import Role
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentMethod,
    ConsentRequested,
    RequestWithdrawn,
)
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually

from .kit import SWV, Clock, as_cloud_event, publish, running, settings_for, submission

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 1, 9, tzinfo=UTC)
ANOUK = auth_header(Role.SUPPORT_WORKER, SWV, subject="ow-anouk", work_unit_id="wu-vlaardingen")


def _intake_event(payload: EventPayload, case_id: UUID, at: datetime, n: int) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/intake",
        type=payload.event_type,
        subject=str(case_id),
        time=at,
        swv=SWV,
        correlationid=str(uuid4()),
        causationid=f"cmd:{uuid4()}",
        actor="ib-marieke",
        streamversion=n,
        position=n,
        data=payload.model_dump(mode="json"),
    )


async def test_w10_w26_consent_shows_and_a_withdrawn_case_leaves_every_list(
    db_url: str, broker: Broker
) -> None:
    clock = Clock(SUBMITTED + timedelta(minutes=5))
    spec = build_spec(clock=clock, scheduler_poll_seconds=0.05)
    request = submission(at=SUBMITTED)
    case_id = str(request.case_id)
    asked_at, confirmed_at = SUBMITTED + timedelta(hours=1), SUBMITTED + timedelta(hours=2)
    # The consent comes first on the bus: it may reach assignment before the routing.
    await publish(
        broker,
        _intake_event(
            ConsentRequested(
                case_id=request.case_id,
                requested_by="ib-marieke",
                requested_at=asked_at,
                parent_refs=["ouder-1"],
                method=ConsentMethod.PERSONAL_LINK,
            ),
            request.case_id,
            asked_at,
            2,
        ),
        as_cloud_event(request),
        _intake_event(
            ConsentConfirmed(
                case_id=request.case_id,
                confirmed_by="ouder-1",
                method=ConsentMethod.PERSONAL_LINK,
                confirmed_at=confirmed_at,
            ),
            request.case_id,
            confirmed_at,
            3,
        ),
    )
    async with (
        running(spec, settings_for(db_url, broker), clock) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):

        async def listed(path: str) -> bool:
            r = await http.get(path, headers=ANOUK)
            return r.status_code == 200 and any(c["case_id"] == case_id for c in r.json())

        async def consent_confirmed() -> dict[str, Any] | None:
            r = await http.get(f"/cases/{case_id}", headers=ANOUK)
            consent = r.json().get("consent") if r.status_code == 200 else None
            return consent if consent and consent["status"] == "confirmed" else None

        consent = await eventually(consent_confirmed, timeout=30, what="consent in the case")
        assert consent["confirmed_by"] == "ouder-1"
        assert consent["requested_at"].startswith("2027-03-01T10:00")
        assert consent["individual_support_allowed"] is True

        async def listed_everywhere() -> bool:
            return await listed("/workers/ow-anouk/inbox") and await listed(
                "/deadlines?worker_id=ow-anouk"
            )

        await eventually(listed_everywhere, timeout=30, what="case in inbox and deadlines")

        withdrawn_at = SUBMITTED + timedelta(days=1)
        withdrawal = RequestWithdrawn(
            case_id=request.case_id,
            withdrawn_by="ib-marieke",
            reason="De ouders kiezen een andere school",
            withdrawn_at=withdrawn_at,
        )
        await publish(broker, _intake_event(withdrawal, request.case_id, withdrawn_at, 4))

        async def gone_everywhere() -> bool:
            return not (
                await listed("/workers/ow-anouk/inbox")
                or await listed("/deadlines?worker_id=ow-anouk")
                or await listed("/deadlines")
            )

        await eventually(gone_everywhere, timeout=30, what="withdrawn case off every list")
        case = (await http.get(f"/cases/{case_id}", headers=ANOUK)).json()
        assert case["withdrawn_at"].startswith("2027-03-02T09:00")
        assert case["consent"]["status"] == "confirmed"
        # W24: the claimer is a support worker of the SWV's directory.
        operator = auth_header(Role.OPERATOR, SWV, subject="op-1")
        doc = load_directory_file(DEV_FILE)[0].model_dump(mode="json")
        assert (await http.put("/directory", headers=operator, json=doc)).status_code == 200
        refused = await http.post(f"/cases/{case_id}/claim", headers=ANOUK)
        assert refused.status_code == 409
        assert refused.json()["rule"] == "W25"
        assert "withdrew" in refused.json()["detail"]
