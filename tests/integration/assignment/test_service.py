"""The running service: a submitted request reaches the inbox, is offered, claimed once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR, load_directory_file
from passend_assignment.service import build_spec
from passend_backbone.auth import Role
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually

from .kit import SWV, Clock, as_cloud_event, publish, running, settings_for, submission

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 1, 9, tzinfo=UTC)


def worker(subject: str, unit: str = "wu-vlaardingen") -> dict[str, str]:
    return auth_header(Role.SUPPORT_WORKER, SWV, subject=subject, work_unit_id=unit)


async def test_request_flows_from_submission_to_claim_and_first_contact(
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

        request = submission(at=SUBMITTED, multiple_problems=True)
        case_id = str(request.case_id)
        await publish(broker, as_cloud_event(request))

        async def in_inbox() -> list[Any]:
            r = await http.get("/workers/ow-anouk/inbox", headers=anouk)
            return [c for c in r.json() if c["case_id"] == case_id]

        (item,) = await eventually(in_inbox, timeout=30, what="case in the inbox")
        assert item["responsible_worker_id"] == "ow-anouk"
        assert item["specialist_required"] is True  # W14
        assert item["contact_due_on"] == "2027-03-08"  # W26
        assert item["time_left"]["working_days"] == 5

        # Claiming before routing: 404; a colleague before the offer: 409 (W25).
        unknown = await http.post(f"/cases/{uuid4()}/claim", headers=anouk)
        assert unknown.status_code == 404
        early = await http.post(f"/cases/{case_id}/claim", headers=worker("ow-bart"))
        assert early.status_code == 409
        assert early.json()["rule"] == "W25"

        ranked = (await http.get(f"/cases/{case_id}/suggestions", headers=anouk)).json()
        assert ranked[0]["worker_id"] == "ow-anouk"  # reading expertise and knows the school
        # W24: expertise first, then the school: Chantal knows it, Bart does not.
        assert [s["worker_id"] for s in ranked] == ["ow-anouk", "ow-chantal", "ow-bart"]
        assert ranked[0]["requested_areas"] == ["reading"]
        assert (ranked[0]["has_areas"], ranked[0]["lacks_areas"]) == (["reading"], [])
        assert (ranked[0]["knows_school"], ranked[0]["position"]) == (True, 1)
        first = ranked[0]
        assert first["hours_free"] == first["weekly_case_hours"] - 2 * first["open_cases"]
        assert {f["factor"] for f in ranked[0]["factors"]} == {
            "expertise",
            "caseload_room",
            "school_familiarity",
        }

        offered = await http.post(
            f"/cases/{case_id}/offer", headers=anouk, json={"need_areas": ["behaviour"]}
        )
        assert offered.status_code == 200, offered.text

        async def in_queue() -> list[Any]:
            r = await http.get("/work-units/wu-vlaardingen/queue", headers=anouk)
            return [c for c in r.json() if c["case_id"] == case_id]

        (queued,) = await eventually(in_queue, what="case in the work-unit queue")
        assert queued["responsible_worker_id"] == "ow-anouk"  # W25

        bart, chantal = worker("ow-bart"), worker("ow-chantal")
        first, second = await asyncio.gather(
            http.post(f"/cases/{case_id}/claim", headers=bart),
            http.post(f"/cases/{case_id}/claim", headers=chantal),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        lost = first if first.status_code == 409 else second
        winner = (second if lost is first else first).json()["case"]["claimed_by"]
        refused = lost.json()
        assert (refused["rule"], refused["detail"]) == (
            "W25",
            f"the case was already claimed by {winner}",
        )
        assert refused["type"] == "urn:passend:problem:conflict"

        async def claimed_everywhere() -> bool:
            inbox = await in_inbox()
            queue = await in_queue()
            loads = (await http.get("/caseloads", headers=anouk)).json()
            mine = [c for c in loads if c["worker_id"] == winner]
            return not inbox and not queue and mine[0]["open_cases"] == 1

        await eventually(claimed_everywhere, what="claim in the read models")

        deadlines = (await http.get("/deadlines", headers=anouk)).json()
        assert [d["responsible_worker_id"] for d in deadlines if d["case_id"] == case_id] == [
            winner
        ]

        clock.now = SUBMITTED + timedelta(days=2)
        contact = await http.post(
            f"/cases/{case_id}/first-contact",
            headers=worker(winner),
            json={"contacted_at": (SUBMITTED + timedelta(days=1)).isoformat()},
        )
        assert contact.status_code == 200, contact.text

        ib = auth_header(Role.IB, SWV, subject="ib-marieke", school_id="brin-11aa")
        coach = await http.post(
            f"/cases/{case_id}/route-coach",
            headers=ib,
            json={"reason": "Geen overeenstemming over de aanpak"},
        )
        assert coach.status_code == 200, coach.text
        assert coach.json()["events"] == ["nl.passend.assignment.RouteCoachCalledIn.v1"]
        # W29, issue 19: the call is a step of the case with who and when, not a count only.
        case = (await http.get(f"/cases/{case_id}", headers=ib)).json()
        assert case["route_coach_calls"] == 1
        [call] = case["route_coach_history"]
        assert (call["called_by"], call["side"], call["route_coach_id"]) == (
            "ib-marieke",
            "school",
            "rb-jeroen",
        )
        assert datetime.fromisoformat(call["called_at"]) == clock.now
        assert "reason" not in call  # why it stalls is for the coach, not the case's story

        async def lead_times() -> dict[str, Any] | None:
            r = (await http.get("/lead-times", headers=anouk)).json()
            return r if r["contacted"] == 1 else None

        times = await eventually(lead_times, what="lead times")
        assert times["contact_avg_hours"] == 24.0
        assert times["claimed"] == 1


async def test_directory_is_configured_through_the_api_as_events(
    db_url: str, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    doc = load_directory_file(DEV_FILE)[0].model_dump(mode="json")
    operator = auth_header(Role.OPERATOR, SWV, subject="op-1")
    async with (
        running(build_spec(), settings_for(db_url, broker)) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        assert (await http.get("/directory", headers=operator)).status_code == 404
        denied = await http.put("/directory", headers=worker("ow-anouk"), json=doc)
        assert denied.status_code == 403
        foreign = await http.put(
            "/directory", headers=auth_header(Role.OPERATOR, "swv-other"), json=doc
        )
        assert foreign.status_code == 403
        first = await http.put("/directory", headers=operator, json=doc)
        assert first.status_code == 200, first.text
        # settings .. people, the Team NO region
        assert len(first.json()["events"]) == 1 + 2 + 6 + 1 + 6 + 18 + 1
        again = await http.put("/directory", headers=operator, json=doc)
        assert again.json() == {"events": []}
        # She leaves: her worker profile is made inactive and she is deactivated as a person.
        doc["workers"] = doc["workers"][1:]
        doc["people"] = [p for p in doc["people"] if p["person_id"] != "ow-anouk"]
        changed = await http.put("/directory", headers=operator, json=doc)
        assert changed.json() == {
            "events": [
                "nl.passend.assignment.SupportWorkerProfiled.v1",
                "nl.passend.assignment.PersonDeactivated.v1",
            ]
        }
        got = (await http.get("/directory", headers=operator)).json()
        inactive = [w["worker_id"] for w in got["workers"] if not w["active"]]
        assert inactive == ["ow-anouk"]
        assert got["version"] == 37  # 35 configured, 2 as she left
