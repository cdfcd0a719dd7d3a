"""Documents during the trajectory (issue 21): the same store and event as the request's,
with the stage and step they belong to; the support worker, the education specialist and
Team NO attach within their reach after the claim and the escalation; a report stays
hidden from the teacher and the route coach; the access export lists them all."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from passend_backbone.audit.access import access_export, access_html
from passend_backbone.auth import Role
from passend_contracts.events.assignment import CaseClaimed, RouteCoachCalledIn
from passend_contracts.events.trajectory import EscalatedToTeamNO, StagnationReason
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from tests import sample_documents as files
from tests.integration.intake.kit import NOW, SCHOOL, SWV, Intake, body, ib, publish, worker

pytestmark = pytest.mark.integration

REGION = "regio-waterweg"
TEAM_NO = auth_header(Role.TEAM_NO_MEMBER, SWV, subject="tno-1", region=REGION)
SPECIALIST = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject="os-1")
COACH = auth_header(Role.ROUTE_COACH, SWV, subject="rc-1")


async def attach(
    service: Intake, case_id: str, headers: dict[str, str], **fields: str
) -> httpx.Response:
    data = {"kind": "minutes", "description": "Verslag van het startgesprek", **fields}
    return await service.http.post(
        f"/requests/{case_id}/documents",
        data=data,
        files={"file": ("verslag.pdf", files.pdf(), "application/pdf")},
        headers=headers,
        timeout=60,
    )


async def listed(service: Intake, case_id: str, headers: dict[str, str]) -> list[Any]:
    answer = await service.http.get(f"/requests/{case_id}/documents", headers=headers)
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()
    return found


async def reaches(service: Intake, case_id: str, headers: dict[str, str]) -> None:
    """Wait until intake heard what brings the case within ``headers``' reach."""

    async def probe() -> bool:
        answer = await service.http.get(f"/requests/{case_id}/documents", headers=headers)
        return answer.status_code == 200

    await eventually(probe, timeout=30, what=f"{case_id} within reach")


async def claimed(service: Intake, case_id: str) -> None:
    async def probe() -> bool:
        answer = await service.http.get(f"/requests/{case_id}", headers=ib())
        return answer.status_code == 200 and answer.json()["status"] != "submitted"

    await eventually(probe, timeout=30, what=f"{case_id} claimed")


async def test_w22_documents_during_the_trajectory_by_every_role_that_may(
    service: Intake,
) -> None:
    data = body()
    case_id = await service.submit(data)
    await service.visible(case_id)
    groeidocument = await attach(
        service, case_id, ib(), kind="groeidocument", description="Groeidocument"
    )
    assert groeidocument.status_code == 201, groeidocument.text
    assert groeidocument.json()["stage"] == "request"
    # Before the claim there is no trajectory to attach to.
    early = await attach(service, case_id, worker(), step="start_conversation")
    assert early.status_code == 409, early.text
    assert early.json()["rule"] == "W22"

    await publish(
        service.broker,
        SWV,
        CaseClaimed(
            case_id=UUID(case_id),
            school_id=SCHOOL,
            ib_id="ib-7731",
            worker_id="worker-0192",
            claimed_at=NOW,
        ),
    )
    await claimed(service, case_id)

    minutes = await attach(service, case_id, worker(), step="start_conversation")
    assert minutes.status_code == 201, minutes.text
    assert (minutes.json()["stage"], minutes.json()["step"]) == ("trajectory", "start_conversation")
    mixed = await attach(service, case_id, worker(), stage="request", step="session")
    assert mixed.status_code == 422 and mixed.json()["field"] == "step"
    report = await attach(
        service, case_id, SPECIALIST, kind="report", description="Verslag van het onderzoek"
    )
    assert report.status_code == 201, report.text
    assert (report.json()["stage"], report.json()["step"]) == ("trajectory", None)

    # Team NO reaches the case once it is escalated to its region, not before.
    assert (await attach(service, case_id, TEAM_NO, step="escalation")).status_code == 404
    await publish(
        service.broker,
        SWV,
        EscalatedToTeamNO(
            case_id=UUID(case_id),
            municipality="GM0622",
            reasons=[StagnationReason.WAITING_LIST],
            draft_plan="Overbrugging op school",
            escalated_at=NOW + timedelta(days=40),
            region=REGION,
            escalated_by="worker-0192",
        ),
        RouteCoachCalledIn(
            case_id=UUID(case_id),
            route_coach_id="rc-1",
            called_by="worker-0192",
            side="support",
            reason="Samen de route bewaken",
            called_at=NOW + timedelta(days=3),
        ),
    )
    await reaches(service, case_id, TEAM_NO)
    await reaches(service, case_id, COACH)
    by_team_no = await attach(
        service, case_id, TEAM_NO, step="escalation", description="Verslag van het overleg"
    )
    assert by_team_no.status_code == 201, by_team_no.text

    shown = await listed(service, case_id, TEAM_NO)
    # (The test's clock stands still: every document has the same moment, so no order.)
    assert sorted((d["kind"], d["stage"], d["step"] or "") for d in shown) == [
        ("groeidocument", "request", ""),
        ("minutes", "trajectory", "escalation"),
        ("minutes", "trajectory", "start_conversation"),
        ("report", "trajectory", ""),
    ]
    # Every document of the case is in one store, sealed with the one pupil key.
    keys = await service.pool.fetch(
        "SELECT DISTINCT key_id FROM documents WHERE case_id = $1", UUID(case_id)
    )
    assert len(keys) == 1
    for d in shown:
        assert (await service.http.get(d["href"], headers=TEAM_NO)).status_code == 200

    # The event carries the stage and the step, still never the content.
    stored = await service.pool.fetch(
        "SELECT data::text AS data FROM events WHERE data->>'case_id' = $1 "
        "AND event_type LIKE '%DocumentAttached%' ORDER BY position",
        case_id,
    )
    assert sorted('"trajectory"' in r["data"] for r in stored) == [False, True, True, True]

    # W22: the report stays hidden from the teacher and the route coach.
    pupil = await service.pseudonym(case_id)
    teacher = auth_header(Role.TEACHER, SWV, subject="lk-1", school_id=SCHOOL, pupil_refs=(pupil,))
    report_href = report.json()["href"]
    for reader in (teacher, COACH):
        kinds = sorted(d["kind"] for d in await listed(service, case_id, reader))
        assert kinds == ["groeidocument", "minutes", "minutes"]
        assert (await service.http.get(report_href, headers=reader)).status_code == 404
        assert (await attach(service, case_id, reader)).status_code == 403
    assert (await service.http.get(report_href, headers=worker())).status_code == 200


async def test_a_team_no_member_of_another_region_does_not_reach_the_case(
    service: Intake,
) -> None:
    case_id = await service.submit(body())
    await service.visible(case_id)
    await publish(
        service.broker,
        SWV,
        CaseClaimed(
            case_id=UUID(case_id),
            school_id=SCHOOL,
            ib_id="ib-7731",
            worker_id="worker-0192",
            claimed_at=NOW,
        ),
        EscalatedToTeamNO(
            case_id=UUID(case_id),
            municipality="GM0622",
            reasons=[StagnationReason.WAITING_LIST],
            draft_plan="Overbrugging op school",
            escalated_at=NOW + timedelta(days=40),
            region=REGION,
        ),
    )
    await reaches(service, case_id, TEAM_NO)
    elsewhere = auth_header(Role.TEAM_NO_MEMBER, SWV, subject="tno-9", region="regio-elders")
    assert (await attach(service, case_id, elsewhere, step="escalation")).status_code == 404
    answer = await service.http.get(f"/requests/{case_id}/documents", headers=elsewhere)
    assert answer.status_code == 404


async def test_the_access_export_lists_the_cases_documents_never_their_content(
    service: Intake,
) -> None:
    """Issue 20/21: the export says which documents are held (kind, stage, size, hash, when,
    by whom), and that a removed one was there; never what a document says."""
    data = body()
    case_id = await service.submit(data)
    await service.visible(case_id)
    content = files.pdf(pages=2)
    kept = await service.http.post(
        f"/requests/{case_id}/documents",
        data={"kind": "groeidocument", "description": "Groeidocument omschrijving-xq7"},
        files={"file": ("bestandsnaam-xq7.pdf", content, "application/pdf")},
        headers=ib(),
        timeout=60,
    )
    assert kept.status_code == 201, kept.text
    gone = await attach(service, case_id, ib(), kind="other", description="Verkeerde scan")
    removal = await service.http.post(
        f"{gone.json()['href']}/removal", json={"reason": "wrong_case"}, headers=ib()
    )
    assert removal.status_code == 200, removal.text

    officer = auth_header(Role.PRIVACY_OFFICER, SWV, subject="fg-1")
    answer = await service.http.get(f"/privacy/pupils/{data['pupil_ref']}/export", headers=officer)
    assert answer.status_code == 200, answer.text
    part = answer.json()
    by_kind = {d["kind"]: d for d in part["documents"]}
    assert set(by_kind) == {"groeidocument", "other"}
    held = by_kind["groeidocument"]
    assert held["case_id"] == case_id and held["stage"] == "request" and held["step"] is None
    assert held["size"] == len(content)
    assert held["sha256"] == hashlib.sha256(content).hexdigest()
    assert held["attached_by"] == "ib-7731" and held["attached_by_role"] == "ib"
    assert held["attached_at"] and held["removed_at"] is None
    assert by_kind["other"]["removed_by"] == "ib-7731"
    assert by_kind["other"]["removal_reason"] == "wrong_case"

    export = access_export(part, {}, generated_at=NOW, generated_by="fg-1", problems=())
    [case] = export["cases"]
    assert {d["document_id"] for d in case["documents"]} == {
        kept.json()["document_id"],
        gone.json()["document_id"],
    }
    html = access_html(export)
    assert "Documenten" in html and "groeidocument" in html and held["sha256"] in html
    # Never the content, the file name or the description.
    everything = answer.text + html
    assert "xq7" not in everything and "Verkeerde scan" not in everything
    assert "%PDF" not in everything and "JVBER" not in everything  # nor its base64
