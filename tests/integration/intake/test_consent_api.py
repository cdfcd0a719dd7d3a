"""Consent over HTTP (W10, R): in person, by single-use expiring link, withdrawn; no token kept."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import pytest

from passend_devstack.waiting import eventually
from tests.integration.intake.kit import PARENT, Intake, body, ib, worker

pytestmark = pytest.mark.integration

LINK = {"method": "personal_link", "parent_refs": [PARENT], "expires_in_hours": 72}
IN_PERSON = {"parent_ref": PARENT, "method": "start_conversation"}


async def consent_of(service: Intake, case_id: str, status: str) -> Any:
    async def probe() -> Any:
        r = await service.http.get(f"/requests/{case_id}/consent", headers=ib())
        return r.json() if r.status_code == 200 and r.json()["status"] == status else None

    return await eventually(probe, timeout=30, what=f"consent {status}")


async def ask_by_link(service: Intake, case_id: str) -> str:
    answer = await service.http.post(
        f"/requests/{case_id}/consent/requests", json=LINK, headers=ib()
    )
    assert answer.status_code == 201, answer.text
    (link,) = answer.json()["links"]
    assert link["parent_ref"] == PARENT
    assert link["url"] == f"/consent/{link['token']}"
    token: str = link["token"]
    return token


async def test_w10_parent_confirms_once_through_the_personal_link(service: Intake) -> None:
    case_id = await service.submit(body())
    token = await ask_by_link(service, case_id)

    shown = await service.http.get(f"/consent/{token}")
    assert shown.status_code == 200
    assert shown.json()["state"] == "open"
    # The parent recognises the child by the first name; nothing more of the identity.
    assert shown.json()["child_first_name"] == "Sam"
    assert shown.json()["purpose"] == "consent"
    for more in ("Jansen", "2016-04-12", "example.nl", "0612345678"):
        assert more not in shown.text

    confirmed = await service.http.post(f"/consent/{token}/confirm")
    assert confirmed.status_code == 201, confirmed.text
    reused = await service.http.post(f"/consent/{token}/confirm")
    assert reused.status_code == 410
    assert "used" in reused.json()["detail"]
    refused = await service.http.post(f"/consent/{token}/refuse")
    assert refused.status_code == 410

    state = await consent_of(service, case_id, "confirmed")
    assert state["method"] == "personal_link"
    assert state["answered_by"] == PARENT
    assert state["individual_support_allowed"] is True
    assert await service.event_types(case_id) == [
        "RequestSubmitted",
        "ConsentRequested",
        "ConsentConfirmed",
    ]
    (confirmation,) = [
        e for e in await service.store.read_stream(case_id) if "Confirmed" in e.event_type
    ]
    assert confirmation.actor == f"parent:{PARENT}"


async def test_w10_the_token_is_stored_only_as_a_hash(service: Intake) -> None:
    case_id = await service.submit(body())
    token = await ask_by_link(service, case_id)
    assert token not in await service.all_event_text()
    stored = await service.pool.fetchval(
        "SELECT count(*) FROM consent_links WHERE token_hash = $1",
        hashlib.sha256(token.encode()).digest(),
    )
    assert stored == 1
    for table in ("consent_links", "idempotency_keys"):
        rows = await service.pool.fetchval(
            f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t"
        )
        assert token not in rows, table


async def test_w10_two_parents_racing_on_one_link_record_one_answer(service: Intake) -> None:
    case_id = await service.submit(body())
    token = await ask_by_link(service, case_id)
    answers = await asyncio.gather(
        *(service.http.post(f"/consent/{token}/{verb}") for verb in ("confirm", "refuse") * 3)
    )
    assert sorted(a.status_code for a in answers) == [201, 410, 410, 410, 410, 410]
    types = await service.event_types(case_id)
    assert types[:2] == ["RequestSubmitted", "ConsentRequested"]
    assert len(types) == 3


async def test_w10_an_expired_link_is_refused(service: Intake) -> None:
    case_id = await service.submit(body())
    token = await ask_by_link(service, case_id)
    service.clock.now += timedelta(hours=73)
    shown = await service.http.get(f"/consent/{token}")
    assert shown.json()["state"] == "expired"
    answer = await service.http.post(f"/consent/{token}/confirm")
    assert answer.status_code == 410
    assert "expired" in answer.json()["detail"]
    assert await service.event_types(case_id) == ["RequestSubmitted", "ConsentRequested"]


async def test_w10_asking_again_replaces_the_open_link(service: Intake) -> None:
    case_id = await service.submit(body())
    first = await ask_by_link(service, case_id)
    second = await ask_by_link(service, case_id)
    assert (await service.http.post(f"/consent/{first}/confirm")).status_code == 410
    assert (await service.http.post(f"/consent/{second}/refuse")).status_code == 201
    state = await consent_of(service, case_id, "refused")
    assert state["individual_support_allowed"] is False


async def test_an_unknown_link_is_404(service: Intake) -> None:
    assert (await service.http.get("/consent/" + "x" * 43)).status_code == 404
    assert (await service.http.post("/consent/" + "x" * 43 + "/confirm")).status_code == 404


async def test_w10_consent_in_person_then_withdrawn_at_any_time(service: Intake) -> None:
    case_id = await service.submit(body())
    base = f"/requests/{case_id}/consent"
    early = await service.http.post(f"{base}/confirmations", json=IN_PERSON, headers=worker())
    assert early.status_code == 409
    assert early.json()["rule"] == "W10"

    asked = await service.http.post(
        f"{base}/requests",
        json={"method": "start_conversation", "parent_refs": [PARENT]},
        headers=ib(),
    )
    assert asked.status_code == 201
    assert asked.json()["links"] == []
    stranger = await service.http.post(
        f"{base}/confirmations", json={**IN_PERSON, "parent_ref": "stranger"}, headers=worker()
    )
    assert stranger.status_code == 422
    assert stranger.json()["field"] == "parent_ref"
    by_link = await service.http.post(
        f"{base}/confirmations", json={**IN_PERSON, "method": "personal_link"}, headers=worker()
    )
    assert by_link.status_code == 422

    confirmed = await service.http.post(f"{base}/confirmations", json=IN_PERSON, headers=worker())
    assert confirmed.status_code == 201, confirmed.text
    await consent_of(service, case_id, "confirmed")

    withdrawn = await service.http.post(
        f"{base}/withdrawals", json={"parent_ref": PARENT}, headers=ib()
    )
    assert withdrawn.status_code == 201
    state = await consent_of(service, case_id, "withdrawn")
    assert state["individual_support_allowed"] is False
    twice = await service.http.post(
        f"{base}/withdrawals", json={"parent_ref": PARENT}, headers=ib()
    )
    assert twice.status_code == 409


async def test_r_a_pupil_of_twelve_is_heard_before_consent_counts(service: Intake) -> None:
    data = body()
    data["pupil"] = {**data["pupil"], "date_of_birth": "2013-01-05"}
    case_id = await service.submit(data)
    base = f"/requests/{case_id}"
    asked = await service.http.post(
        f"{base}/consent/requests",
        json={"method": "support_team_meeting", "parent_refs": [PARENT]},
        headers=ib(),
    )
    assert asked.status_code == 201
    meeting = {**IN_PERSON, "method": "support_team_meeting"}
    unheard = await service.http.post(f"{base}/consent/confirmations", json=meeting, headers=ib())
    assert unheard.status_code == 409
    assert unheard.json()["rule"] == "R"

    heard = await service.http.post(f"{base}/pupil-hearings", json={"view": "agrees"}, headers=ib())
    assert heard.status_code == 201
    confirmed = await service.http.post(f"{base}/consent/confirmations", json=meeting, headers=ib())
    assert confirmed.status_code == 201, confirmed.text
    state = await consent_of(service, case_id, "confirmed")
    assert state["pupil_view"] == "agrees"
    assert state["pupil_heard_at"] is not None


async def test_only_the_ib_asks_for_consent(service: Intake) -> None:
    case_id = await service.submit(body())
    answer = await service.http.post(
        f"/requests/{case_id}/consent/requests", json=LINK, headers=worker()
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"method": "personal_link", "parent_refs": [PARENT]}, "expires_in_hours"),
        ({**LINK, "expires_in_hours": 400}, "expires_in_hours"),
        ({**LINK, "parent_refs": []}, "parent_refs"),
        ({**LINK, "parent_refs": ["stranger"]}, "parent_refs"),
        ({**LINK, "method": "carrier_pigeon"}, "method"),
    ],
)
async def test_w10_an_invalid_consent_request_names_the_field(
    service: Intake, data: dict[str, Any], field: str
) -> None:
    case_id = await service.submit(body())
    answer = await service.http.post(
        f"/requests/{case_id}/consent/requests", json=data, headers=ib()
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    fields = (
        [str(p) for err in problem["errors"] for p in err["loc"]]
        if "errors" in problem
        else [problem["field"]]
    )
    assert field in fields
    assert await service.event_types(case_id) == ["RequestSubmitted"]
