"""The privacy officer's screens (functionaris gegevensbescherming): erasure on request.

Look up a pupil by the school's reference, see what an erasure would do (each case and
what happens to it, what is erased, what is kept and on what ground), grant a request,
and confirm or reject a colleague's request where the SWV wants a second officer. Intake's
``/privacy`` API decides and logs (role ``privacy_officer`` only).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from passend_backbone.audit.access import access_export, access_html, collect_case_entries
from passend_contracts.privacy import dutch
from passend_portal.clients import ServiceError
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

ROLE = "privacy_officer"
HOME = "/privacy"
_PUPIL_REF = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
EXPORT_SERVICES = ("intake", "assignment", "trajectory", "notifications")

CASE_STATUS = {
    "submitted": "Aangemeld",
    "in_trajectory": "In traject",
    "escalated": "Bij Team NO",
    "withdrawn": "Ingetrokken",
    "closed": "Afgesloten",
}
ON_ERASURE = {
    "withdrawn": "Wordt ingetrokken: het traject stopt bij elke dienst, met de wissing als reden.",
    "stays_withdrawn": "Was al ingetrokken; blijft zo.",
    "stays_closed": "Was al afgesloten; blijft zo.",
}
REQUEST_STATUS = {
    "awaiting_confirmation": "Wacht op een tweede functionaris",
    "carried_out": "Uitgevoerd",
    "rejected": "Niet bevestigd",
}


# Intake's refusal of a school's pupil number that pupils of several schools have.
AMBIGUOUS = "pupil_reference_ambiguous"


def _rule(exc: ServiceError) -> str | None:
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    rule = detail.get("rule")
    return rule if isinstance(rule, str) else None


def _problem(exc: ServiceError) -> str:
    if exc.status == 409:
        return "Dit kan nu niet: de leerling is al gewist, of er wacht al een verzoek."
    if exc.status == 403 and _rule(exc) == "erasure_second_officer":
        return "Een andere functionaris moet dit verzoek bevestigen dan wie het toekende."
    if exc.status == 422:
        return "Vul in wie het vroeg, wanneer het binnenkwam en op welke grond."
    return "Dat lukte niet. Probeer het opnieuw of neem contact op met de beheerder."


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    def officer(request: Request) -> Session:
        return portal.session_of_role(request, ROLE)

    @routes.get(HOME)
    async def home(request: Request) -> HTMLResponse:
        return await start_page(request, officer(request))

    async def start_page(
        request: Request, session: Session, *, choose: list[dict[str, str]] | None = None
    ) -> HTMLResponse:
        pending = await services.get("intake", "/privacy/erasure-requests", token=session.token)
        context = {
            "pending": pending["requests"],
            "REQUEST_STATUS": REQUEST_STATUS,
            "done": request.query_params.get("gedaan"),
            "not_found": request.query_params.get("onbekend"),
            # Schools number their own pupils: a number several schools use names several
            # pupils, one per school; the officer picks the school.
            "choose": choose or [],
        }
        return portal.render(request, "privacy/home.html", context, session=session)

    @routes.get(HOME + "/leerling")
    async def pupil(request: Request) -> Response:
        session = officer(request)
        ref = request.query_params.get("ref", "").strip()
        if not _PUPIL_REF.match(ref):
            return redirect(HOME + "?onbekend=1")
        return await show(request, session, ref)

    async def show(
        request: Request,
        session: Session,
        ref: str,
        *,
        problem: str | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        try:
            found = await services.get(
                "intake", f"/privacy/pupils/{quote(ref)}", token=session.token
            )
        except ServiceError as exc:
            if exc.status == 404:
                return redirect(HOME + "?onbekend=1")
            if exc.status == 409 and _rule(exc) == AMBIGUOUS:
                named = await services.get(
                    "intake", "/privacy/pupils", token=session.token, params={"ref": ref}
                )
                return await start_page(request, session, choose=named["pupils"])
            raise
        context = {
            "found": found,
            # Intake's pseudonym from here on (issue 20): the school's reference names
            # nobody once the pupil is erased, so the forms and links go by the pseudonym.
            "ref": str(found.get("pupil_ref") or ref),
            "school_ref": found.get("school_pupil_ref"),
            "CASE_STATUS": CASE_STATUS,
            "ON_ERASURE": ON_ERASURE,
            "REQUEST_STATUS": REQUEST_STATUS,
            "dutch": dutch,
            "form_problem": problem,
            "values": values or {"ontvangen": date.today().isoformat()},
            "done": request.query_params.get("gedaan"),
        }
        return portal.render(request, "privacy/pupil.html", context, session=session, status=status)

    @routes.get(HOME + "/leerling/{ref}/inzage.{kind}")
    async def access(request: Request, ref: str, kind: str) -> Response:
        """Access on request (AVG art. 15): everything held on the pupil, as JSON or as a
        readable page; every service logs the reads it answers."""
        session = officer(request)
        if kind not in ("json", "html") or not _PUPIL_REF.match(ref):
            return redirect(HOME)
        try:
            pupil = await services.get(
                "intake", f"/privacy/pupils/{quote(ref)}/export", token=session.token
            )
        except ServiceError as exc:
            if exc.status == 404:
                return redirect(HOME + "?onbekend=1")
            raise
        urls = {s: services.urls[s] for s in EXPORT_SERVICES if s in services.urls}
        entries, problems = await collect_case_entries(
            services.http, urls, session.token, [c["case_id"] for c in pupil["cases"]]
        )
        export = access_export(
            pupil,
            entries,
            generated_at=datetime.now(UTC),
            generated_by=session.display_name or session.subject,
            problems=problems,
        )
        name = f"inzage-{ref}.{kind}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        if kind == "json":
            return JSONResponse(export, headers=disposition)
        return HTMLResponse(access_html(export), headers=disposition)

    @routes.post(HOME + "/leerling/{ref}/wissen")
    async def erase(request: Request, ref: str) -> Response:
        session = officer(request)
        form = await Form.of(request)
        values = {k: form.get(k) for k in ("gevraagd_door", "ontvangen", "grond", "sleutel")}
        body = {
            "requested_by": values["gevraagd_door"],
            "received_on": values["ontvangen"],
            "grounds": values["grond"],
        }
        try:
            answer = await services.post(
                "intake",
                f"/privacy/pupils/{quote(ref)}/erasure",
                token=session.token,
                json=body,
                idempotency_key=values["sleutel"] or str(uuid.uuid4()),
            )
        except ServiceError as exc:
            if exc.status == 404:
                return redirect(HOME + "?onbekend=1")
            return await show(
                request, session, ref, problem=_problem(exc), values=values, status=exc.status
            )
        done = "wacht" if answer["status"] == "awaiting_confirmation" else "gewist"
        return redirect(f"{HOME}/leerling?ref={quote(ref)}&gedaan={done}")

    async def decide(request: Request, request_id: str, action: str, json: Any) -> Response:
        session = officer(request)
        try:
            uuid.UUID(request_id)
        except ValueError:
            return redirect(HOME)
        try:
            await services.post(
                "intake",
                f"/privacy/erasure-requests/{request_id}/{action}",
                token=session.token,
                json=json,
                idempotency_key=str(uuid.uuid4()),
            )
        except ServiceError as exc:
            pending = await services.get("intake", "/privacy/erasure-requests", token=session.token)
            context = {
                "pending": pending["requests"],
                "REQUEST_STATUS": REQUEST_STATUS,
                "done": None,
                "not_found": None,
                "problem": _problem(exc),
            }
            return portal.render(
                request, "privacy/home.html", context, session=session, status=exc.status
            )
        return redirect(
            HOME + ("?gedaan=bevestigd" if action == "confirmation" else "?gedaan=afgewezen")
        )

    @routes.post(HOME + "/verzoeken/{request_id}/bevestigen")
    async def confirm(request: Request, request_id: str) -> Response:
        return await decide(request, request_id, "confirmation", None)

    @routes.post(HOME + "/verzoeken/{request_id}/afwijzen")
    async def reject(request: Request, request_id: str) -> Response:
        form = await Form.of(request)
        reason = form.get("reden") or "Geen reden opgegeven."
        return await decide(request, request_id, "rejection", {"reason": reason})

    return routes
