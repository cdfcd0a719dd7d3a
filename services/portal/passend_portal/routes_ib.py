"""The IB's pages: the school's cases, the guided request form, consent and deadlines."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata, documents, parents
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import explain
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

REQUEST_FIELDS = frozenset(
    {
        "addressed_worker_id",
        "pupil_ref",
        "pupil.name",
        "pupil.date_of_birth",
        "pupil.parents",
        *(
            f"pupil.parents.{i}.{f}"
            for i in (0, 1)
            for f in ("parent_ref", "name", "email", "phone")
        ),
        "levels",
        "educational_need",
        "tried_in_basic_support",
        "why_stuck",
        "multiple_problems",
        "specialist_advised",
        "processing_basis",
        "Idempotency-Key",
    }
)
CONSENT_FIELDS = frozenset({"parent_refs", "method", "expires_in_hours", "parent_ref", "view"})


def request_body(form: Form, school_id: str) -> dict[str, Any]:
    """W1-W5: the form as intake's ``POST /requests`` body; blank parent rows are left out.

    The portal numbers the parents itself (``ouder-1``, ``ouder-2``): a number from the
    school's own records would link the case to them after the pupil's erasure (issue 20),
    and the screens name a parent by name anyway."""
    rows: list[dict[str, Any]] = []
    for i in (0, 1):
        row = {f: form.get(f"pupil.parents.{i}.{f}") for f in ("name", "email", "phone")}
        if any(row.values()):
            numbered = {"parent_ref": f"ouder-{len(rows) + 1}", **row}
            rows.append(
                {k: (v or None) if k in ("email", "phone") else v for k, v in numbered.items()}
            )
    levels = ["pupil"]
    if form.get("school_organisation") == "ja":
        levels.append("school_organisation")
    return {
        "school_id": school_id,
        "addressed_worker_id": form.get("addressed_worker_id"),
        "pupil_ref": form.get("pupil_ref"),
        "pupil": {
            "name": form.get("pupil.name"),
            "date_of_birth": form.get("pupil.date_of_birth") or None,
            "parents": rows,
        },
        "levels": levels,
        "educational_need": form.get("educational_need"),
        "tried_in_basic_support": form.get("tried_in_basic_support"),
        "why_stuck": form.get("why_stuck"),
        "multiple_problems": form.get("multiple_problems") == "ja",
        "specialist_advised": form.get("specialist_advised") == "ja",
        "processing_basis": form.get("processing_basis") or "public_task",
        # The pupil's teacher reads the case (W16); none chosen, none named.
        "teacher_id": form.get("teacher_id") or None,
    }


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    async def choices(session: Session) -> dict[str, list[dict[str, Any]]]:
        """The SWV's support workers and the school's teachers for the form's choices;
        none if the directory is away."""
        try:
            directory = await services.get("assignment", "/directory", token=session.token)
        except (ServiceError, ServiceDown):
            return {"workers": [], "teachers": []}
        found: list[dict[str, Any]] = directory.get("workers", [])
        return {
            "workers": sorted(found, key=lambda w: str(w.get("worker_id"))),
            "teachers": list(directory.get("teachers", [])),
        }

    @routes.get("/school")
    async def school_cases(request: Request) -> HTMLResponse:
        """The school's cases, their status and who is responsible now (W25)."""
        session = portal.session_of_role(request, "ib")
        rows = await services.get(
            "intake", f"/schools/{session.school_id}/requests", token=session.token
        )

        async def responsible(row: dict[str, Any]) -> dict[str, Any]:
            case = await casedata.optional(
                services.get("assignment", f"/cases/{row['case_id']}", token=session.token)
            )
            return {**row, "assignment": case}

        cases = await asyncio.gather(*(responsible(r) for r in rows[:50]))
        return portal.render(request, "ib/cases.html", {"cases": cases}, session=session)

    @routes.get("/school/aanvraag")
    async def request_form(request: Request) -> HTMLResponse:
        session = portal.session_of_role(request, "ib")
        context = {**await choices(session), "values": {}}
        return portal.render(request, "ib/request_form.html", context, session=session)

    @routes.post("/school/aanvraag")
    async def submit(request: Request) -> Response:
        """W1-W5, W24: submit; the form's key makes a double click one case, not two."""
        session = portal.session_of_role(request, "ib")
        form = await Form.of(request)
        try:
            created = await services.post(
                "intake",
                "/requests",
                token=session.token,
                json=request_body(form, session.school_id or ""),
                idempotency_key=form.get("idempotency_key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, REQUEST_FIELDS)
            if "levels" in problem.fields:
                problem.fields["school_organisation"] = problem.fields.pop("levels")
            context = {
                **await choices(session),
                "values": form.values(),
                "problem": problem,
            }
            return portal.render(
                request, "ib/request_form.html", context, status=422, session=session
            )
        case_id = created["case_id"]
        if documents.has_file(form):
            # W22: the document the school attached to its request, once the case exists.
            try:
                await documents.attach(portal.services, session, case_id, form)
            except (ServiceError, ServiceDown) as exc:
                code = documents.code_of(documents.problem_of(exc))
                return redirect(f"/zaken/{case_id}?nieuw=1&bijlage={code}#documenten")
        return redirect(f"/zaken/{case_id}?nieuw=1")

    @routes.post("/zaken/{case_id}/toestemming/vragen")
    async def ask_consent(request: Request, case_id: str) -> Response:
        """W10: ask by personal link (send or print) or record the answer given in a meeting."""
        session = portal.session_of_role(request, "ib", "support_worker")
        form = await Form.of(request)
        method = form.get("method")
        chosen = form.all("parent_refs")
        body: dict[str, Any] = {"method": method, "parent_refs": chosen}
        if method == "personal_link":
            days = form.get("days") or "7"
            body["expires_in_hours"] = int(days) * 24 if days.isdigit() else None
        # The form's key makes a double click (or a retry after a lost answer) one request;
        # each answer recorded with it gets a key of its own, derived from the form's.
        key = form.get("idempotency_key") or None
        try:
            asked = await services.post(
                "intake",
                f"/requests/{case_id}/consent/requests",
                token=session.token,
                json=body,
                idempotency_key=key,
            )
            answer = form.get("answer")
            version = 0
            if method != "personal_link" and answer in ("confirmations", "refusals"):
                for parent in chosen:
                    recorded = await services.post(
                        "intake",
                        f"/requests/{case_id}/consent/{answer}",
                        token=session.token,
                        json={"parent_ref": parent, "method": method},
                        idempotency_key=f"{key}:{answer}:{parent}" if key else None,
                    )
                    version = int(recorded.get("version", 0))
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal, request, session, case_id, explain(exc, CONSENT_FIELDS)
            )
        if method == "personal_link":
            links = [
                {**link, "portal_url": f"{portal.settings.public_url}/toestemming/{link['token']}"}
                for link in asked.get("links", [])
            ]
            context = {
                "case_id": case_id,
                "links": links,
                "letter": form.get("letter") == "ja",
                "parent_names": await parents.read_names(portal, session, case_id),
            }
            return portal.render(request, "ib/consent_links.html", context, session=session)
        return redirect(f"/zaken/{case_id}?wacht=intake:{version}#toestemming")

    @routes.get("/zaken/{case_id}/toestemming/links")
    async def consent_links(request: Request, case_id: str) -> Response:
        """W10: the parents' links that still work, to hand over when an e-mail did not
        arrive (the same links the e-mails carry; intake logs the read)."""
        session = portal.session_of_role(request, "ib", "support_worker")
        found = await services.get(
            "intake", f"/requests/{case_id}/consent/links", token=session.token
        )
        links = [
            {**link, "portal_url": f"{portal.settings.public_url}/toestemming/{link['token']}"}
            for link in found.get("links", [])
        ]
        context = {
            "case_id": case_id,
            "links": links,
            "letter": True,
            "parent_names": await parents.read_names(portal, session, case_id),
        }
        return portal.render(request, "ib/consent_links.html", context, session=session)

    @routes.post("/zaken/{case_id}/toestemming/intrekken")
    async def withdraw_consent(request: Request, case_id: str) -> Response:
        """W10: a parent withdrew consent; support pauses until new consent."""
        session = portal.session_of_role(request, "ib", "support_worker")
        form = await Form.of(request)
        try:
            recorded = await services.post(
                "intake",
                f"/requests/{case_id}/consent/withdrawals",
                token=session.token,
                json={"parent_ref": form.get("parent_ref")},
                idempotency_key=form.get("idempotency_key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal, request, session, case_id, explain(exc, CONSENT_FIELDS)
            )
        return redirect(f"/zaken/{case_id}?wacht=intake:{recorded.get('version', 0)}#toestemming")

    @routes.post("/zaken/{case_id}/ouders/contact")
    async def correct_parent_contact(request: Request, case_id: str) -> Response:
        """W10: a parent the e-mail did not reach is reached at a corrected address (or
        phone number); asking again then sends the link there."""
        session = portal.session_of_role(request, "ib", "support_worker")
        form = await Form.of(request)
        parent_ref = form.get("contact.parent_ref")
        key = form.get("idempotency_key")
        try:
            recorded = await services.call(
                "PUT",
                "intake",
                f"/requests/{case_id}/parents/{quote(parent_ref, safe='')}/contact",
                token=session.token,
                json={
                    "email": form.optional("contact.email"),
                    "phone": form.optional("contact.phone"),
                },
                headers={"Idempotency-Key": key} if key else None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, frozenset({"email", "phone", "parent_ref"}))
            problem.fields = {f"contact.{k}": v for k, v in problem.fields.items()}
            return await casedata.case_page(
                portal, request, session, case_id, problem, values=form.values(), form="contact"
            )
        version = recorded.get("version", 0)
        return redirect(f"/zaken/{case_id}?wacht=intake:{version}&gedaan=contact#toestemming")

    @routes.post("/zaken/{case_id}/intrekken")
    async def withdraw_request(request: Request, case_id: str) -> Response:
        """The school withdraws its request, with the reason, until a trajectory opened."""
        session = portal.session_of_role(request, "ib")
        form = await Form.of(request)
        try:
            recorded = await services.post(
                "intake",
                f"/requests/{case_id}/withdrawal",
                token=session.token,
                json={"reason": form.get("intrekken.reason")},
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, frozenset({"reason"}))
            problem.fields = {f"intrekken.{k}": v for k, v in problem.fields.items()}
            return await casedata.case_page(
                portal, request, session, case_id, problem, values=form.values(), form="intrekken"
            )
        return redirect(f"/zaken/{case_id}?wacht=intake:{recorded.get('version', 0)}")

    @routes.post("/zaken/{case_id}/signalen/{signal_id}/gelezen")
    async def acknowledge(request: Request, case_id: str, signal_id: str) -> Response:
        """W19: the school acknowledges a signal, with its response if it has one."""
        session = portal.session_of_role(request, "ib")
        form = await Form.of(request)
        try:
            answer = await services.post(
                "trajectory",
                f"/cases/{case_id}/signals/{signal_id}/acknowledgement",
                token=session.token,
                json={"response": form.optional("response")},
            )
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal, request, session, case_id, explain(exc), form="signaal"
            )
        return redirect(f"/zaken/{case_id}?wacht=trajectory:{answer.get('version', 0)}")

    @routes.post("/zaken/{case_id}/leerling-gehoord")
    async def pupil_heard(request: Request, case_id: str) -> Response:
        """R: a pupil of 12 or older is heard before the parents' consent counts."""
        session = portal.session_of_role(request, "ib", "support_worker")
        form = await Form.of(request)
        try:
            recorded = await services.post(
                "intake",
                f"/requests/{case_id}/pupil-hearings",
                token=session.token,
                json={"view": form.get("view")},
                idempotency_key=form.get("idempotency_key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal, request, session, case_id, explain(exc, CONSENT_FIELDS)
            )
        return redirect(f"/zaken/{case_id}?wacht=intake:{recorded.get('version', 0)}#toestemming")

    @routes.post("/zaken/{case_id}/documenten")
    async def attach_document(request: Request, case_id: str) -> Response:
        """W22: the IB attaches a document (kind, description, file) to the request; the
        support worker and the specialist to the case they work on (with its step)."""
        session = portal.session_of_role(request, *documents.ATTACHERS)
        form = await Form.of(request)
        try:
            answer = await documents.attach(portal.services, session, case_id, form)
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal,
                request,
                session,
                case_id,
                documents.problem_of(exc),
                values=form.values(),
                form="documenten",
            )
        return redirect(f"/zaken/{case_id}?wacht=intake:{answer.get('version', 0)}#documenten")

    @routes.get("/zaken/{case_id}/documenten/{document_id}")
    async def download_document(request: Request, case_id: str, document_id: str) -> Response:
        """A document of the case, as intake opens it for this reader (and logs the read)."""
        session = portal.session_of_role(request, *documents.READERS)
        try:
            found = await portal.services.download(
                "intake",
                f"/requests/{quote(case_id)}/documents/{quote(document_id)}",
                token=session.token,
            )
        except ServiceDown as exc:
            down: dict[str, Any] = {"message": exc.message}
            return portal.render(request, "error.html", down, status=503, session=session)
        except ServiceError as exc:
            refused: dict[str, Any] = {
                "message": messages_nl(exc),
                "technical": explain(exc).technical,
            }
            return portal.render(request, "error.html", refused, status=exc.status, session=session)
        return Response(
            found.content,
            media_type=found.headers.get("content-type", "application/octet-stream"),
            headers={
                "Content-Disposition": found.headers.get("content-disposition", "attachment"),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return routes


def messages_nl(exc: ServiceError) -> str:
    """Why a document could not be opened, for its reader."""
    if exc.status == 410:
        return documents.ERASED
    if exc.status == 404:
        return "Dit document is niet gevonden, is verwijderd, of u heeft er geen toegang toe."
    return explain(exc).general or "Het document kon niet worden geopend."
