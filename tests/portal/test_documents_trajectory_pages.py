"""Documents during the trajectory (issue 21, W22): the support worker and the specialist
attach on their case page, Team NO on its own and opens them from its agenda; every form
has its token first and every refusal is said in Dutch."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.portal.fakes import (
    ASSIGNMENT_CASE,
    CASE,
    IB,
    REQUEST_DETAIL,
    TEAM_NO,
    WORKER,
    FakeServices,
    cookie,
    csrf_token,
    trajectory,
)
from tests.portal.test_documents_pages import DOCUMENT, LISTED, PDF, posted_to_intake, upload
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
SPECIALIST = {"role": "education_specialist", "subject": "os-fatima"}
ROUTE_COACH = {"role": "route_coach", "subject": "rb-joost"}
MINUTES_ID = "5e1c7a2b-3d4f-4a6b-9c8d-7e6f5a4b3c2d"
MINUTES: dict[str, Any] = {
    **LISTED,
    "document_id": MINUTES_ID,
    "kind": "minutes",
    "description": "Verslag van het startgesprek",
    "file_name": "verslag startgesprek.pdf",
    "attached_by": "ow-anouk",
    "attached_by_role": "support_worker",
    "stage": "trajectory",
    "step": "start_conversation",
    "href": f"/requests/{CASE}/documents/{MINUTES_ID}",
}
CLAIMED = {**ASSIGNMENT_CASE, "claimed_by": "ow-anouk", "claimed_at": "2026-09-15T09:00:00Z"}
AGENDA = {
    "region": "waterweg",
    "cases": [
        {
            "case_id": CASE,
            "municipality": "GM0622",
            "reasons": ["waiting_list"],
            "draft_plan": "Overbrugging op school",
            "escalation_id": None,
            "escalated_by": "ow-anouk",
            "escalated_at": "2026-10-01T10:00:00+00:00",
        }
    ],
}


def case_answers(fake: FakeServices, documents: list[dict[str, Any]]) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "intake", f"/requests/{CASE}/documents", (200, documents))
    fake.on("GET", "assignment", f"/cases/{CASE}", (200, CLAIMED))
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, trajectory(version=7)))
    fake.on("GET", "notifications", f"/cases/{CASE}/notifications", (200, {"messages": []}))


def minutes_form(me: dict[str, str], **fields: str) -> dict[str, Any]:
    form = upload(
        me,
        **{
            "document.kind": "minutes",
            "document.description": "Verslag van het startgesprek",
            "document.step": "start_conversation",
            **fields,
        },
    )
    form["files"] = {"document.file": ("verslag startgesprek.pdf", PDF, "application/pdf")}
    return form


def token_first(page: str, action: str, me: dict[str, str]) -> None:
    form = re.search(
        rf'<form method="post" action="{re.escape(action)}" enctype="multipart/form-data"'
        r"[^>]*>(.{0,120})",
        page,
    )
    assert form is not None, f"a multipart form posts to {action}"
    assert f'name="csrf_token" value="{csrf_token(me)}"' in form.group(1), "the token first"


async def test_w22_the_worker_sees_the_documents_and_attaches_the_minutes(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, [LISTED, MINUTES])
    me = cookie(**WORKER)
    page = (await portal.get(f"/zaken/{CASE}", cookies=me)).text
    assert 'id="documenten"' in page
    assert "Groeidocument schooljaar 2026-2027" in page and "Bij de aanvraag" in page
    assert "Verslag van het startgesprek" in page and "Gespreksverslag" in page
    assert f'href="/zaken/{CASE}/documenten/{MINUTES_ID}"' in page
    token_first(page, f"/zaken/{CASE}/documenten", me)
    assert "Bij welke stap hoort het?" in page and "Geen bepaalde stap" in page
    assert faults(screen_text(page)) == []

    fake.on("POST", "intake", f"/requests/{CASE}/documents", (201, {"version": 4}))
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **minutes_form(me))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/zaken/{CASE}?wacht=intake:4#documenten"
    [(path, body, _)] = posted_to_intake(fake)
    assert path == f"/requests/{CASE}/documents"
    assert b'name="kind"\r\n\r\nminutes' in body
    assert b'name="step"\r\n\r\nstart_conversation' in body
    assert PDF in body and b"csrf_token" not in body


async def test_without_a_step_none_is_sent_and_intake_decides_the_stage(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, [])
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (201, {"version": 4}))
    me = cookie(**SPECIALIST)
    page = (await portal.get(f"/zaken/{CASE}", cookies=me)).text
    assert "Er zijn nog geen documenten bij deze casus." in page
    token_first(page, f"/zaken/{CASE}/documenten", me)
    form = minutes_form(me, **{"document.kind": "report", "document.step": ""})
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **form)
    assert answer.status_code == 303, answer.text
    [(_, body, _)] = posted_to_intake(fake)
    assert b'name="kind"\r\n\r\nreport' in body and b'name="step"' not in body


@pytest.mark.parametrize(
    ("status", "detail", "dutch"),
    [
        (413, {"rule": "documents", "message": "Te groot."}, "groter dan 20 MB"),
        (415, {"rule": "documents", "message": "Soort."}, "niet om de naam"),
        (422, {"rule": "documents", "message": "Het bestand is leeg."}, "Het bestand is leeg"),
        (
            409,
            {"rule": "W22", "message": "no worker took the case up yet: there is no trajectory"},
            "De casus is nog niet opgepakt",
        ),
        (
            422,
            {"rule": "W22", "message": "a step does not go with 'request'", "field": "step"},
            "Kies een stap van het traject",
        ),
    ],
)
async def test_each_refusal_is_said_in_dutch_on_the_workers_case_page(
    portal: httpx.AsyncClient, fake: FakeServices, status: int, detail: Any, dutch: str
) -> None:
    case_answers(fake, [])
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (status, {"detail": detail}))
    me = cookie(**WORKER)
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **minutes_form(me))
    assert answer.status_code == 422
    assert dutch in answer.text
    assert "<details open>" in answer.text, "the form stays open at its problem"
    assert faults(screen_text(answer.text)) == []


async def test_a_route_coach_reads_but_does_not_attach(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, [MINUTES])
    me = cookie(**ROUTE_COACH)
    page = (await portal.get(f"/zaken/{CASE}", cookies=me)).text
    assert "Verslag van het startgesprek" in page
    assert "Document toevoegen" not in page
    refused = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **minutes_form(me))
    assert refused.status_code == 403
    assert posted_to_intake(fake) == []


async def test_w22_team_no_opens_the_documents_from_its_agenda(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "trajectory", "/regions/waterweg/team-no-agenda", (200, AGENDA))
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "intake", f"/requests/{CASE}/documents", (200, [LISTED, MINUTES]))
    fake.on(
        "GET",
        "intake",
        f"/requests/{CASE}/documents/{MINUTES_ID}",
        (
            200,
            httpx.Response(
                200,
                content=PDF,
                headers={
                    "content-type": "application/pdf",
                    "content-disposition": 'attachment; filename="verslag.pdf"',
                },
            ),
        ),
    )
    me = cookie(**TEAM_NO)
    page = (await portal.get("/team-no", cookies=me)).text
    item = page[page.index('data-testid="agendapunt"') :]
    assert "Documenten" in item
    assert "Groeidocument schooljaar 2026-2027" in item and "Startgesprek" in item
    assert f'href="/zaken/{CASE}/documenten/{DOCUMENT}"' in item
    assert f'href="/zaken/{CASE}/documenten/{MINUTES_ID}"' in item
    assert faults(screen_text(page)) == []

    download = await portal.get(f"/zaken/{CASE}/documenten/{MINUTES_ID}", cookies=me)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["cache-control"] == "no-store"


async def test_an_agenda_item_without_readable_documents_says_so(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "trajectory", "/regions/waterweg/team-no-agenda", (200, AGENDA))
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    page = (await portal.get("/team-no", cookies=cookie(**TEAM_NO))).text
    assert "De documenten zijn nu niet te zien" in page
    fake.on("GET", "intake", f"/requests/{CASE}/documents", (200, []))
    page = (await portal.get("/team-no", cookies=cookie(**TEAM_NO))).text
    assert "Er zijn geen documenten bij deze casus." in page


async def test_w22_team_no_attaches_on_its_case_page(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, [LISTED])
    me = cookie(**TEAM_NO)
    page = (await portal.get(f"/team-no/zaken/{CASE}", cookies=me)).text
    assert "Groeidocument schooljaar 2026-2027" in page
    token_first(page, f"/team-no/zaken/{CASE}/documenten", me)
    assert faults(screen_text(page)) == []

    refusal = {"rule": "documents", "message": "Soort."}
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (415, {"detail": refusal}))
    form = minutes_form(me, **{"document.step": "escalation"})
    refused = await portal.post(f"/team-no/zaken/{CASE}/documenten", cookies=me, **form)
    assert refused.status_code == 422
    assert "niet om de naam" in refused.text and "<details open>" in refused.text
    assert refused.text.count("Dit lukte niet") == 1, "said once, at the form"

    fake.on("POST", "intake", f"/requests/{CASE}/documents", (201, {"version": 9}))
    answer = await portal.post(f"/team-no/zaken/{CASE}/documenten", cookies=me, **form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/team-no/zaken/{CASE}?wacht=intake:9#documenten"
    body = posted_to_intake(fake)[-1][1]
    assert b'name="step"\r\n\r\nescalation' in body


async def test_only_team_no_posts_on_the_team_no_page(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, [])
    me = cookie(**IB)
    refused = await portal.post(f"/team-no/zaken/{CASE}/documenten", cookies=me, **upload(me))
    assert refused.status_code == 403
    assert posted_to_intake(fake) == []
