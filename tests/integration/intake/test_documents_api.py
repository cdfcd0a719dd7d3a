"""Documents on a request (issue 21): attached, listed, downloaded, removed; bad files refused
with nothing stored; who sees which; every read logged; unreadable after the pupil's erasure."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from passend_intake.erasure import erase_pupil
from tests import sample_documents as files
from tests.integration.intake.kit import SCHOOL, SWV, Intake, body, ib, worker

pytestmark = pytest.mark.integration


async def attach(
    service: Intake,
    case_id: str,
    content: bytes,
    *,
    headers: dict[str, str] | None = None,
    kind: str = "groeidocument",
    description: str = "Groeidocument van Sam Jansen, leerjaar 5",
    name: str = "groeidocument Sam Jansen.pdf",
    media_type: str = "application/pdf",
) -> httpx.Response:
    return await service.http.post(
        f"/requests/{case_id}/documents",
        data={"kind": kind, "description": description},
        files={"file": (name, content, media_type)},
        headers=headers or ib(),
        timeout=60,
    )


async def stored(service: Intake) -> tuple[int, int]:
    return await service.count("documents"), await service.count("document_contents")


async def new_case(service: Intake, **changes: Any) -> tuple[str, dict[str, Any]]:
    data = body(**changes)
    case_id = await service.submit(data)
    await service.visible(case_id)
    return case_id, data


async def test_the_ib_attaches_lists_downloads_and_removes_a_document(service: Intake) -> None:
    case_id, _ = await new_case(service)
    content = files.pdf(pages=2)
    answer = await attach(service, case_id, content)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["sha256"] == hashlib.sha256(content).hexdigest()
    assert created["size"] == len(content) and created["media_type"] == "application/pdf"
    assert answer.headers["location"] == created["href"]

    listed = await service.http.get(f"/requests/{case_id}/documents", headers=ib())
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()
    assert shown["document_id"] == created["document_id"]
    assert shown["kind"] == "groeidocument"
    assert shown["description"] == "Groeidocument van Sam Jansen, leerjaar 5"
    assert shown["file_name"] == "groeidocument Sam Jansen.pdf"
    assert shown["attached_by"] == "ib-7731" and shown["attached_by_role"] == "ib"
    assert shown["readable"] is True

    download = await service.http.get(created["href"], headers=ib())
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert "groeidocument%20Sam%20Jansen.pdf" in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"

    # The event says which document, never what it says or what it is called.
    assert (await service.event_types(case_id))[-1] == "DocumentAttached"
    events = await service.all_event_text()
    assert created["sha256"] in events
    assert "Sam Jansen" not in events and "leerjaar 5" not in events
    row = await service.pool.fetchrow(
        "SELECT d.file_name, d.description, c.sealed FROM documents d "
        "JOIN document_contents c USING (document_id) WHERE document_id = $1",
        UUID(created["document_id"]),
    )
    assert b"Sam Jansen" not in bytes(row["file_name"]) + bytes(row["description"])
    assert content not in bytes(row["sealed"]) and b"%PDF" not in bytes(row["sealed"])

    removal = await service.http.post(
        f"{created['href']}/removal", json={"reason": "replaced"}, headers=ib()
    )
    assert removal.status_code == 200, removal.text
    assert removal.json()["event_type"] == "nl.passend.intake.DocumentRemoved.v1"
    assert (await service.http.get(f"/requests/{case_id}/documents", headers=ib())).json() == []
    assert (await service.http.get(created["href"], headers=ib())).status_code == 404
    left = await service.pool.fetchval(
        "SELECT count(*) FROM document_contents WHERE document_id = $1::uuid",
        created["document_id"],
    )
    assert left == 0  # the content is gone; the events keep that it was there
    again = await service.http.post(
        f"{created['href']}/removal", json={"reason": "replaced"}, headers=ib()
    )
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (files.docx, "verslag.docx"),
        (files.odt, "verslag.odt"),
        (files.jpeg, "scan.jpg"),
        (files.png, "scan.png"),
    ],
)
async def test_every_allowed_type_is_taken(service: Intake, make: Any, name: str) -> None:
    case_id, _ = await new_case(service)
    answer = await attach(
        service, case_id, make(), name=name, media_type="application/octet-stream"
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (files.too_large(), 413, "20 MB"),
        (b"MZ\x90\x00 this is a program, named .pdf", 415, "de inhoud van het bestand telt"),
        (files.other_zip(), 415, "Toegestaan zijn PDF"),
        (files.encrypted_pdf(), 422, "wachtwoord"),
        (files.damaged_pdf(), 422, "beschadigd"),
        (b"", 422, "leeg"),
    ],
)
async def test_a_bad_file_gets_a_dutch_answer_and_nothing_is_stored(
    service: Intake, content: bytes, status: int, words: str
) -> None:
    case_id, _ = await new_case(service)
    before = await stored(service)
    versions = len(await service.store.read_stream(case_id))
    answer = await attach(service, case_id, content, name="groeidocument.pdf")
    assert answer.status_code == status, answer.text[:300]
    problem = answer.json()
    assert words in problem["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await stored(service) == before
    assert len(await service.store.read_stream(case_id)) == versions


async def test_a_blank_description_is_refused_and_nothing_is_stored(service: Intake) -> None:
    case_id, _ = await new_case(service)
    before = await stored(service)
    answer = await attach(service, case_id, files.pdf(), description="   ")
    assert answer.status_code == 422
    assert answer.json()["field"] == "description"
    assert await stored(service) == before


async def test_a_body_far_over_the_limit_is_refused_before_it_is_read(service: Intake) -> None:
    case_id, _ = await new_case(service)
    before = await stored(service)
    content = files.too_large() + bytes(2 * 1024 * 1024)
    answer = await attach(service, case_id, content)
    assert answer.status_code == 413
    assert "20 MB" in answer.json()["detail"]
    assert await stored(service) == before


async def test_who_attaches_and_who_sees_which_document(service: Intake) -> None:
    case_id, _ = await new_case(service)
    assert (await attach(service, case_id, files.pdf(), headers=worker())).status_code == 201
    specialist = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject="os-1")
    report = await attach(
        service, case_id, files.pdf(), headers=specialist, kind="report", description="Verslag"
    )
    assert report.status_code == 201, report.text

    pupil = await service.pseudonym(case_id)
    teacher = auth_header(Role.TEACHER, SWV, subject="lk-1", school_id=SCHOOL, pupil_refs=(pupil,))
    refused = await attach(service, case_id, files.pdf(), headers=teacher)
    assert refused.status_code == 403  # a teacher reads, never attaches
    other_school = await attach(service, case_id, files.pdf(), headers=ib(school="school-99"))
    assert other_school.status_code == 404  # another school's case does not exist for her
    other_worker = auth_header(
        Role.SUPPORT_WORKER, SWV, subject="ow-9", work_unit_id="wu-elsewhere"
    )
    assert (await attach(service, case_id, files.pdf(), headers=other_worker)).status_code == 404
    other_swv = await attach(service, case_id, files.pdf(), headers=ib(swv="swv-elders"))
    assert other_swv.status_code == 404

    # The teacher sees the groeidocument but not the specialist's report.
    kinds = [
        d["kind"]
        for d in (await service.http.get(f"/requests/{case_id}/documents", headers=teacher)).json()
    ]
    assert kinds == ["groeidocument"]
    href = report.json()["href"]
    assert (await service.http.get(href, headers=teacher)).status_code == 404
    assert (await service.http.get(href, headers=ib())).status_code == 200
    listed = await service.http.get(
        f"/requests/{case_id}/documents", headers=ib(school="school-99")
    )
    assert listed.status_code == 404

    # Only who attached it, or the school's IB, removes it.
    worker_doc = next(
        d
        for d in (await service.http.get(f"/requests/{case_id}/documents", headers=ib())).json()
        if d["attached_by"] == "worker-0192"
    )
    by_specialist = await service.http.post(
        f"{worker_doc['href']}/removal", json={"reason": "not_needed"}, headers=specialist
    )
    assert by_specialist.status_code == 403
    assert by_specialist.json()["rule"] == "W22"
    by_worker = await service.http.post(
        f"{worker_doc['href']}/removal", json={"reason": "not_needed"}, headers=worker()
    )
    assert by_worker.status_code == 200


async def test_reading_a_document_is_logged_like_reading_a_case(service: Intake) -> None:
    case_id, _ = await new_case(service)
    created = (await attach(service, case_id, files.png(), name="scan.png")).json()
    reader = auth_header(Role.AUDITOR, SWV, subject="aud-docs")
    listed = await service.http.get(f"/requests/{case_id}/documents", headers=reader)
    assert listed.status_code == 200
    download = await service.http.get(
        created["href"], headers={**reader, "X-Purpose": "dossiercontrole"}
    )
    assert download.status_code == 200
    reads = await service.pool.fetch(
        "SELECT view, purpose, reader_role FROM case_reads WHERE reader = 'aud-docs' "
        "AND case_id = $1 ORDER BY read_id",
        case_id,
    )
    assert [(r["view"], r["purpose"]) for r in reads] == [
        ("intake.documents", "uitvoering taak"),
        (f"intake.document:{created['document_id']}", "dossiercontrole"),
    ]


async def test_after_the_pupils_erasure_no_document_can_be_opened(service: Intake) -> None:
    case_id, data = await new_case(service)
    content = files.pdf()
    created = (await attach(service, case_id, content)).json()
    sealed_before = await service.pool.fetchval(
        "SELECT sealed FROM document_contents WHERE document_id = $1::uuid",
        created["document_id"],
    )

    assert await erase_pupil(
        service.pool,
        SWV,
        data["pupil_ref"],
        erased_by="fg-sanne",
        now=service.clock(),
        store=service.store,
    )

    download = await service.http.get(created["href"], headers=ib())
    assert download.status_code == 410
    assert download.json()["detail"].startswith("De leerling is gewist")
    assert download.json()["rule"] == "erasure"
    [shown] = (await service.http.get(f"/requests/{case_id}/documents", headers=ib())).json()
    assert shown["readable"] is False
    assert shown["description"] == "[gewist]" and shown["file_name"] == "[gewist]"
    assert shown["sha256"] == created["sha256"]  # what it was stays provable
    # The stored bytes are the same ciphertext; no key opens them any more.
    sealed_after = await service.pool.fetchval(
        "SELECT sealed FROM document_contents WHERE document_id = $1::uuid",
        created["document_id"],
    )
    assert sealed_after == sealed_before and content not in bytes(sealed_after)
    assert (
        await service.pool.fetchval(
            "SELECT count(*) FROM pupil_keys WHERE school_ref = $1", data["pupil_ref"]
        )
        == 0
    )
    # Nothing can be attached either, and no key is made again for it.
    again = await attach(service, case_id, files.pdf())
    assert again.status_code == 410, again.text
    assert (
        await service.pool.fetchval(
            "SELECT count(*) FROM pupil_keys WHERE school_ref = $1", data["pupil_ref"]
        )
        == 0
    )


async def test_a_retry_with_the_same_key_attaches_once(service: Intake) -> None:
    case_id, _ = await new_case(service)
    headers = {**ib(), "Idempotency-Key": str(uuid4())}
    first = await attach(service, case_id, files.pdf(), headers=headers)
    second = await attach(service, case_id, files.pdf(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    listed = (await service.http.get(f"/requests/{case_id}/documents", headers=ib())).json()
    assert len(listed) == 1
