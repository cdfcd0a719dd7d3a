"""The IB's documents (issue 21, W22): the list, the upload form, and every refusal in Dutch."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.portal.fakes import (
    CASE,
    IB,
    REQUEST_DETAIL,
    FakeServices,
    cookie,
    csrf_token,
)

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
DOCUMENT = "9d4b2c1e-5f7a-4b8e-a1c3-6e2f0d9b7a45"
LISTED: dict[str, Any] = {
    "document_id": DOCUMENT,
    "case_id": CASE,
    "kind": "groeidocument",
    "description": "Groeidocument schooljaar 2026-2027",
    "file_name": "groeidocument.pdf",
    "media_type": "application/pdf",
    "size": 48213,
    "sha256": "0" * 64,
    "attached_by": "ib-marieke",
    "attached_by_role": "ib",
    "attached_at": "2026-09-14T08:40:00Z",
    "readable": True,
    "href": f"/requests/{CASE}/documents/{DOCUMENT}",
}
PDF = b"%PDF-1.7\n% a small document\n%%EOF"


def case_with_documents(fake: FakeServices, documents: list[dict[str, Any]]) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "intake", f"/requests/{CASE}/documents", (200, documents))


def upload(me: dict[str, str], **fields: str) -> dict[str, Any]:
    """The case page's form with a file, as a browser sends it (the token first)."""
    data = {
        "csrf_token": csrf_token(me),
        "document.idempotency_key": "k-doc-1",
        "document.kind": "groeidocument",
        "document.description": "Groeidocument schooljaar 2026-2027",
        **fields,
    }
    return {"data": data, "files": {"document.file": ("groeidocument.pdf", PDF, "application/pdf")}}


def posted_to_intake(fake: FakeServices) -> list[tuple[str, Any, httpx.Headers]]:
    return [(c[2], c[3], c[4]) for c in fake.calls if c[0] == "POST" and c[1] == "intake"]


async def test_w22_the_ib_sees_the_documents_and_a_form_to_attach_one(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [LISTED])
    me = cookie(**IB)
    page = (await portal.get(f"/zaken/{CASE}", cookies=me)).text
    assert 'id="documenten"' in page
    assert "Groeidocument" in page and "Groeidocument schooljaar 2026-2027" in page
    assert f'href="/zaken/{CASE}/documenten/{DOCUMENT}"' in page
    assert "48 kB" in page
    form = re.search(
        r'<form method="post" action="/zaken/[^"]+/documenten" enctype="multipart/form-data"'
        r"[^>]*>(.{0,120})",
        page,
    )
    assert form is not None, "the upload form is multipart"
    assert f'name="csrf_token" value="{csrf_token(me)}"' in form.group(1), "the token first"
    assert 'type="file"' in page and "hoogstens 20 MB" in page
    for kind in ("Groeidocument", "Ontwikkelingsperspectief (OPP)", "Gespreksverslag"):
        assert kind in page


async def test_w22_an_attached_document_goes_to_intake_with_its_kind_and_description(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [])
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (201, {"version": 3}))
    me = cookie(**IB)
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **upload(me))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/zaken/{CASE}?wacht=intake:3#documenten"
    [(path, body, headers)] = posted_to_intake(fake)
    assert path == f"/requests/{CASE}/documents"
    assert headers["content-type"].startswith("multipart/form-data")
    assert headers["Idempotency-Key"] == "k-doc-1"
    assert b'name="kind"\r\n\r\ngroeidocument' in body
    assert b'name="description"\r\n\r\nGroeidocument schooljaar 2026-2027' in body
    assert b'filename="groeidocument.pdf"' in body and PDF in body
    assert b"csrf_token" not in body, "the token stays in the portal"


async def test_a_form_with_a_file_but_without_the_token_is_refused(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [])
    me = cookie(**IB)
    form = upload(me)
    form["data"]["csrf_token"] = "0" * 64
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **form)
    assert answer.status_code == 403
    assert posted_to_intake(fake) == []


@pytest.mark.parametrize(
    ("status", "detail", "dutch"),
    [
        (413, "Het bestand is groter dan 20 MB.", "groter dan 20 MB"),
        (415, "Dit soort bestand kan niet worden bijgevoegd.", "niet om de naam"),
        (422, "De PDF is beveiligd met een wachtwoord of versleuteld.", "beveiligd met een"),
        (422, "De PDF is beschadigd en kan niet worden gelezen.", "beschadigd en kan niet"),
        (422, "Het bestand is leeg.", "Het bestand is leeg"),
        (410, "De leerling is gewist.", "De leerling is gewist"),
    ],
)
async def test_each_refused_file_is_explained_in_dutch_on_the_case_page(
    portal: httpx.AsyncClient, fake: FakeServices, status: int, detail: str, dutch: str
) -> None:
    case_with_documents(fake, [])
    refusal = {"rule": "documents", "message": detail, "field": "file"}
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (status, {"detail": refusal}))
    me = cookie(**IB)
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **upload(me))
    assert answer.status_code == 422
    assert dutch in answer.text
    assert "<details open>" in answer.text, "the form stays open at its problem"


async def test_a_missing_kind_or_description_lands_on_its_field(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [])
    errors = [{"type": "missing", "loc": ["body", "description"], "msg": "Field required"}]
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (422, {"detail": errors}))
    me = cookie(**IB)
    answer = await portal.post(
        f"/zaken/{CASE}/documenten", cookies=me, **upload(me, **{"document.description": ""})
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-document-description-fout">.*Beschrijf het document', answer.text)


async def test_w22_the_ib_sends_the_groeidocument_with_the_request(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "intake", "/requests", (201, {"case_id": CASE}))
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (201, {"version": 2}))
    me = cookie(**IB)
    form = upload(me, why_stuck="Geen groei.", idempotency_key="k-req")
    page = (await portal.get("/school/aanvraag", cookies=me)).text
    assert 'enctype="multipart/form-data"' in page and 'name="document.file"' in page
    answer = await portal.post("/school/aanvraag", cookies=me, **form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/zaken/{CASE}?nieuw=1"
    [(first, request, _), (second, _, _)] = posted_to_intake(fake)
    assert first == "/requests" and request["why_stuck"] == "Geen groei."
    assert second == f"/requests/{CASE}/documents"


async def test_a_refused_document_after_the_request_is_said_on_the_case_page(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "intake", "/requests", (201, {"case_id": CASE}))
    refusal = {"rule": "documents", "message": "De PDF is beschadigd.", "field": "file"}
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (422, {"detail": refusal}))
    me = cookie(**IB)
    answer = await portal.post("/school/aanvraag", cookies=me, **upload(me))
    assert answer.headers["location"] == f"/zaken/{CASE}?nieuw=1&bijlage=beschadigd#documenten"
    case_with_documents(fake, [])
    page = await portal.get(f"/zaken/{CASE}?bijlage=beschadigd", cookies=me)
    assert "De aanvraag is ingediend, maar het document is niet toegevoegd" in page.text
    assert "beschadigd en kan niet worden geopend" in page.text


async def test_a_document_downloads_through_the_portal(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    disposition = 'attachment; filename="groeidocument.pdf"'
    fake.on(
        "GET",
        "intake",
        f"/requests/{CASE}/documents/{DOCUMENT}",
        (
            200,
            httpx.Response(
                200,
                content=PDF,
                headers={"content-type": "application/pdf", "content-disposition": disposition},
            ),
        ),
    )
    answer = await portal.get(f"/zaken/{CASE}/documenten/{DOCUMENT}", cookies=cookie(**IB))
    assert answer.status_code == 200
    assert answer.content == PDF
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == disposition
    assert answer.headers["cache-control"] == "no-store"


async def test_an_erased_pupils_document_says_why_it_does_not_open(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    refusal = {"rule": "erasure", "message": "De leerling is gewist"}
    fake.on("GET", "intake", f"/requests/{CASE}/documents/{DOCUMENT}", (410, {"detail": refusal}))
    answer = await portal.get(f"/zaken/{CASE}/documenten/{DOCUMENT}", cookies=cookie(**IB))
    assert answer.status_code == 410
    assert "De leerling is gewist" in answer.text and "niet meer worden geopend" in answer.text
    case_with_documents(fake, [{**LISTED, "readable": False, "description": "[gewist]"}])
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text
    assert "Niet meer te openen: de leerling is gewist" in page


async def test_a_file_over_20_mb_is_refused_by_the_portal_without_sending_it(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [])
    me = cookie(**IB)
    form = upload(me)
    form["files"] = {
        "document.file": ("groot.pdf", PDF + bytes(20 * 1024 * 1024), "application/pdf")
    }
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **form)
    assert answer.status_code == 422
    assert "groter dan 20 MB" in answer.text
    assert posted_to_intake(fake) == []


async def test_a_form_without_a_file_asks_for_one(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [])
    me = cookie(**IB)
    form = upload(me)
    form["files"] = {"document.file": ("", b"", "application/octet-stream")}
    answer = await portal.post(f"/zaken/{CASE}/documenten", cookies=me, **form)
    assert answer.status_code == 422
    assert re.search(r'id="f-document-file-fout">.*Kies een bestand', answer.text)
    assert posted_to_intake(fake) == []


async def test_a_blank_description_is_asked_for_at_its_field(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_with_documents(fake, [])
    refusal = {"rule": "documents", "message": "describe it", "field": "description"}
    fake.on("POST", "intake", f"/requests/{CASE}/documents", (422, {"detail": refusal}))
    me = cookie(**IB)
    answer = await portal.post(
        f"/zaken/{CASE}/documenten", cookies=me, **upload(me, **{"document.description": " "})
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-document-description-fout">.*Beschrijf het document', answer.text)
