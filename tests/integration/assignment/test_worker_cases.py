"""A worker's own cases (issue 19, "Mijn casussen"): after claiming, the case is listed as
hers, with its school and deadline; out of reach or in another SWV it is not listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_assignment.service import build_spec
from passend_backbone.auth import Role
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually

from .kit import SWV, Clock, as_cloud_event, publish, running, settings_for, submission

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 1, 9, tzinfo=UTC)


def worker(subject: str, unit: str = "wu-vlaardingen", swv: str = SWV) -> dict[str, str]:
    return auth_header(Role.SUPPORT_WORKER, swv, subject=subject, work_unit_id=unit)


async def test_a_claimed_case_is_listed_as_the_workers_own_W25(
    db_url: str, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(DEV_FILE))
    clock = Clock(SUBMITTED + timedelta(minutes=5))
    spec = build_spec(clock=clock, scheduler_poll_seconds=0.05)
    async with (
        running(spec, settings_for(db_url, broker), clock) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        anouk = worker("ow-anouk")

        async def directory_loaded() -> bool:
            r = await http.get("/directory", headers=anouk)
            return r.status_code == 200 and len(r.json()["workers"]) == 6

        await eventually(directory_loaded, what="dev directory loaded")
        request = submission(at=SUBMITTED)
        case_id = str(request.case_id)
        await publish(broker, as_cloud_event(request))

        async def mine(headers: dict[str, str], subject: str = "ow-anouk") -> list[Any]:
            r = await http.get(f"/workers/{subject}/cases", headers=headers)
            assert r.status_code == 200, r.text
            return [c for c in r.json() if c["case_id"] == case_id]

        async def in_inbox() -> bool:
            r = await http.get("/workers/ow-anouk/inbox", headers=anouk)
            return any(c["case_id"] == case_id for c in r.json())

        await eventually(in_inbox, timeout=30, what="case in the inbox")
        assert await mine(anouk) == []  # received, not claimed yet: not hers yet
        claimed = await http.post(f"/cases/{case_id}/claim", headers=anouk)
        assert claimed.status_code == 200, claimed.text

        async def listed() -> list[Any]:
            return await mine(anouk)

        (row,) = await eventually(listed, what="the claimed case among hers")
        assert row["claimed_by"] == "ow-anouk" and row["school_id"] == "brin-11aa"
        assert row["contact_due_on"] == "2027-03-08"  # W26
        # Another unit's worker does not see it listed; nor does anyone of another SWV.
        other_unit = worker("ow-daan", unit="wu-schiedam-maassluis")
        assert await mine(other_unit) == []
        assert await mine(worker("ow-anouk", swv="swv-elders")) == []
        ib = auth_header(Role.IB, SWV, subject="ib-marieke", school_id="brin-11aa")
        refused = await http.get("/workers/ow-anouk/cases", headers=ib)
        assert refused.status_code == 403
