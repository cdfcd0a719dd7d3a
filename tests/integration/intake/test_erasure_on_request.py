"""A privacy officer erases a pupil on request (issue 20): preview, decision, second officer."""

from __future__ import annotations

import asyncio
import io
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_backbone.eventstore.store import verify
from passend_backbone.texts.tokens import ERASED
from passend_devstack.test_tokens import auth_header
from passend_intake import privacy_cli
from passend_intake.privacy import SECOND_OFFICER_SETTING
from tests.integration.intake.kit import SWV, Intake, body, ib

pytestmark = pytest.mark.integration

ASKED = {
    "requested_by": "De moeder van de leerling, per brief",
    "received_on": "2026-09-10",
    "grounds": "AVG art. 17 lid 1 sub b: de toestemming is ingetrokken",
}


def officer(subject: str = "fg-sanne", swv: str = SWV) -> dict[str, str]:
    return {
        **auth_header(Role.PRIVACY_OFFICER, swv, subject=subject),
        "Idempotency-Key": str(uuid4()),
    }


async def two_cases(service: Intake) -> tuple[dict[str, Any], str, str]:
    data = body()
    first = await service.submit(data)
    withdrawn = await service.submit({**data, "why_stuck": "An earlier period."})
    answer = await service.http.post(
        f"/requests/{withdrawn}/withdrawal",
        json={"reason": "Opgelost in de basisondersteuning."},
        headers={**ib(), "Idempotency-Key": str(uuid4())},
    )
    assert answer.status_code == 200, answer.text
    await service.visible(first)
    await service.visible(withdrawn)
    return data, first, withdrawn


async def test_an_officer_sees_what_happens_then_erases_and_every_case_records_it(
    service: Intake,
) -> None:
    data, first, withdrawn = await two_cases(service)
    pupil = data["pupil_ref"]

    async def preview(ref: str = pupil) -> dict[str, Any]:
        answer = await service.http.get(f"/privacy/pupils/{ref}", headers=officer())
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    shown = await preview()
    # The officer names the pupil by the school's reference; intake by its pseudonym.
    pseudonym = shown["pupil_ref"]
    assert shown["school_pupil_ref"] == pupil and pseudonym != pupil
    cases = {c["case_id"]: c for c in shown["cases"]}
    assert cases[first]["on_erasure"] == "withdrawn"  # the open request ends with it
    assert cases[withdrawn]["on_erasure"] == "stays_withdrawn"
    assert "pupil_identity" in shown["will_erase"]
    assert all(k["legal_basis"] for k in shown["kept"])
    assert shown["erased"] is False and shown["needs_second_officer"] is False
    reads = await service.pool.fetch(
        "SELECT case_id::text, purpose, reader_role FROM case_reads WHERE reader = 'fg-sanne'"
    )
    assert {r["case_id"] for r in reads} == {first, withdrawn}  # the preview is a read
    assert {r["reader_role"] for r in reads} == {"privacy_officer"}

    answer = await service.http.post(
        f"/privacy/pupils/{pupil}/erasure", json=ASKED, headers=officer()
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "carried_out"

    types = await service.event_types(first)
    assert types[-2:] == ["RequestWithdrawn", "CaseErased"]
    assert (await service.event_types(withdrawn))[-1] == "CaseErased"
    erased = [
        e for e in await service.store.read_all(0, 10_000) if e.event_type.endswith("CaseErased.v1")
    ]
    assert {e.data["requested_by"] for e in erased} == {ASKED["requested_by"]}
    assert {e.data["erased_by"] for e in erased} == {"fg-sanne"}
    pupil_erased = [
        e
        for e in await service.store.read_all(0, 10_000)
        if e.event_type.endswith("PupilErased.v1") and e.data["pupil_ref"] == pseudonym
    ]
    assert len(pupil_erased) == 1
    assert pupil_erased[0].data["reason"] == "request"
    assert pupil_erased[0].data["grounds"] == ASKED["grounds"]

    detail = (await service.http.get(f"/requests/{first}", headers=ib())).json()
    assert detail["pupil"]["name"] == ERASED
    assert (await preview(pseudonym))["erased"] is True
    # Issue 20: the school's reference names nobody any more, nowhere in Passend.
    unknown = await service.http.get(f"/privacy/pupils/{pupil}", headers=officer())
    assert unknown.status_code == 404, unknown.text
    assert pupil not in await service.all_event_text()
    again = await service.http.post(
        f"/privacy/pupils/{pseudonym}/erasure", json=ASKED, headers=officer()
    )
    assert again.status_code == 409, again.text
    assert (await verify(service.pool)).ok


async def test_a_second_officer_must_confirm_where_the_swv_wants_one(
    service: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECOND_OFFICER_SETTING, SWV)
    data, first, _ = await two_cases(service)
    pupil = data["pupil_ref"]
    answer = await service.http.post(
        f"/privacy/pupils/{pupil}/erasure", json=ASKED, headers=officer()
    )
    assert answer.status_code == 200, answer.text
    request_id = answer.json()["request_id"]
    assert answer.json()["status"] == "awaiting_confirmation"
    # Nothing is erased yet.
    assert (await service.http.get(f"/requests/{first}", headers=ib())).json()["pupil"][
        "name"
    ] != ERASED
    pending = (await service.http.get("/privacy/erasure-requests", headers=officer())).json()
    assert request_id in {r["request_id"] for r in pending["requests"]}

    same = await service.http.post(
        f"/privacy/erasure-requests/{request_id}/confirmation", headers=officer("fg-sanne")
    )
    assert same.status_code == 403 and same.json()["rule"] == "erasure_second_officer"
    other = await service.http.post(
        f"/privacy/erasure-requests/{request_id}/confirmation", headers=officer("fg-ahmed")
    )
    assert other.status_code == 200, other.text
    assert other.json()["confirmed_by"] == "fg-ahmed"
    assert (await service.http.get(f"/requests/{first}", headers=ib())).json()["pupil"][
        "name"
    ] == ERASED
    case_erased = (await service.store.read_stream(first))[-1]
    assert case_erased.event_type.endswith("CaseErased.v1")
    assert case_erased.data["confirmed_by"] == "fg-ahmed"
    twice = await service.http.post(
        f"/privacy/erasure-requests/{request_id}/confirmation", headers=officer("fg-ahmed")
    )
    assert twice.status_code == 409


async def test_a_rejected_request_erases_nothing(
    service: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECOND_OFFICER_SETTING, "*")
    data, first, _ = await two_cases(service)
    answer = await service.http.post(
        f"/privacy/pupils/{data['pupil_ref']}/erasure", json=ASKED, headers=officer()
    )
    request_id = answer.json()["request_id"]
    rejected = await service.http.post(
        f"/privacy/erasure-requests/{request_id}/rejection",
        json={"reason": "Wettelijke bewaarplicht: het OPP loopt nog."},
        headers=officer("fg-ahmed"),
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert (await service.http.get(f"/requests/{first}", headers=ib())).json()["pupil"][
        "name"
    ] == "Sam Jansen"


async def test_only_the_own_swvs_privacy_officer_may(service: Intake) -> None:
    data, _, _ = await two_cases(service)
    pupil = data["pupil_ref"]
    as_ib = await service.http.get(f"/privacy/pupils/{pupil}", headers=ib())
    assert as_ib.status_code == 403
    elsewhere = await service.http.get(
        f"/privacy/pupils/{pupil}", headers=officer(swv="swv-elders")
    )
    assert elsewhere.status_code == 404
    unknown = await service.http.get("/privacy/pupils/nobody-here", headers=officer())
    assert unknown.status_code == 404
    bad = await service.http.post(
        f"/privacy/pupils/{pupil}/erasure", json={**ASKED, "grounds": ""}, headers=officer()
    )
    assert bad.status_code == 422


async def test_the_command_line_shows_and_erases_in_dutch(service: Intake) -> None:
    data, first, _ = await two_cases(service)
    pupil = data["pupil_ref"]
    token = officer()["Authorization"].removeprefix("Bearer ")
    base = ["--token", token, "--intake-url", str(service.http.base_url)]

    def run(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        return privacy_cli.run([*base, *args], out), out.getvalue()

    code, shown = await asyncio.to_thread(run, "show", pupil)
    assert code == 0, shown
    assert "wordt ingetrokken; het traject stopt in elke dienst" in shown
    assert "naam en geboortedatum van de leerling" in shown
    assert "Tweede functionaris nodig: nee" in shown
    code, done = await asyncio.to_thread(
        run,
        "erase",
        pupil,
        "--requested-by",
        "de vader, per e-mail",
        "--received-on",
        "2026-09-11",
        "--grounds",
        "AVG art. 17 lid 1 sub a",
    )
    assert code == 0, done
    assert "uitgevoerd" in done
    assert (await service.http.get(f"/requests/{first}", headers=ib())).json()["pupil"][
        "name"
    ] == ERASED
    code, _ = await asyncio.to_thread(
        run, "erase", pupil, "--requested-by", "x", "--received-on", "2026-09-11", "--grounds", "y"
    )
    assert code == 1  # refused: erased already
