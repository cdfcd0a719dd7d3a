"""The operator's ("beheerder") screens: every service's dead letters as a worklist.

Per service and consumer the records that were set aside, with the reason in words; one
dead letter with its record; replay one or all of a consumer after a fix, or acknowledge
one as handled with a reason. The services' ``/operator/dead-letters`` API does the work
(role ``operator`` only); opening one dead letter is logged there as a read of its case.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal.clients import SERVICE_NAMES_NL, ServiceDown, ServiceError
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

ROLE = "operator"
HOME = "/beheer"

# The reason codes of the dead letters' ``dlq-reason`` header, for a person.
REASONS = {
    "not-text": "Het bericht is geen tekst (binaire gegevens of een andere tekenset), "
    "dus ook geen gebeurtenis.",
    "not-json": "Het bericht is tekst, maar geen geldige JSON.",
    "not-an-event": "Het bericht is geen gebeurtenis (leeg, of geen JSON-object).",
    "breaks-contract": "Het bericht klopt niet met het contract van de gebeurtenis: "
    "velden ontbreken of hebben een verkeerde waarde.",
    "handler-failed": "De verwerking mislukte bij elke poging: een fout in de code van "
    "deze verwerker, of gegevens die de code niet aankan.",
}
STATUSES = {
    "open": "Open",
    "acknowledged": "Afgehandeld zonder verwerking",
    "replayed": "Opnieuw verwerkt",
}
OUTCOMES = {
    "applied": "Opnieuw verwerkt.",
    "already-applied": "Was al verwerkt; er is niets veranderd.",
    "failed": "Opnieuw verwerken mislukte; er is niets veranderd.",
}
STAGES = {"parse": "Bij het lezen", "handle": "Bij het verwerken"}


def reason_nl(code: str | None) -> str:
    """The Dutch sentence of a reason code (the English detail is shown next to it)."""
    return REASONS.get(code or "", "Onbekende reden; zie de technische melding.")


def service_name(service: str) -> str:
    return SERVICE_NAMES_NL.get(service, service)


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    def operator(request: Request) -> Session:
        return portal.session_of_role(request, ROLE)

    def unknown(request: Request, service: str) -> HTMLResponse | None:
        """A 404 page for a service this portal does not know, else None."""
        if service in services.urls:
            return None
        message = "Deze dienst kent het portaal niet. Ga terug naar de lijst."
        return portal.render(request, "error.html", {"message": message}, status=404)

    async def worklist(session: Session, service: str) -> dict[str, Any]:
        try:
            answer = await services.get(service, "/operator/dead-letters", token=session.token)
        except ServiceDown:
            return {"service": service, "name": service_name(service), "down": True}
        except ServiceError as exc:
            return {
                "service": service,
                "name": service_name(service),
                "down": True,
                "status": exc.status,
            }
        consumers = answer.get("consumers", []) if isinstance(answer, dict) else []
        return {
            "service": service,
            "name": service_name(service),
            "down": False,
            "consumers": consumers,
            "open": sum(int(c.get("open", 0)) for c in consumers),
        }

    @routes.get(HOME)
    async def overview(request: Request) -> HTMLResponse:
        session = operator(request)
        lists = await asyncio.gather(*(worklist(session, s) for s in services.urls))
        context = {
            "lists": lists,
            "open_total": sum(entry.get("open", 0) for entry in lists),
            "replayed": request.query_params.get("verwerkt"),
            "failed": request.query_params.get("mislukt"),
            "REASONS": REASONS,
            "STATUSES": STATUSES,
            "reason_nl": reason_nl,
        }
        return portal.render(request, "operator/overview.html", context, session=session)

    def detail_path(service: str, dead_letter_id: str) -> str:
        return f"{HOME}/{quote(service)}/{quote(dead_letter_id, safe=':')}"

    async def show(
        request: Request,
        session: Session,
        service: str,
        dead_letter_id: str,
        *,
        outcome: dict[str, Any] | None = None,
        problem: str | None = None,
        status: int = 200,
        values: dict[str, str] | None = None,
    ) -> HTMLResponse:
        letter = await services.get(
            service,
            f"/operator/dead-letters/{quote(dead_letter_id, safe=':')}",
            token=session.token,
        )
        context = {
            "service": service,
            "service_label": service_name(service),
            "letter": letter,
            "reason_text": reason_nl(letter.get("reason_code")),
            "status_text": STATUSES.get(letter.get("status", ""), letter.get("status", "")),
            "stage_text": STAGES.get(letter.get("stage", ""), letter.get("stage", "")),
            "action": detail_path(service, dead_letter_id),
            "outcome": outcome,
            "outcome_text": OUTCOMES.get((outcome or {}).get("outcome", ""), ""),
            "done": request.query_params.get("gedaan"),
            "form_problem": problem,
            "values": values or {},
        }
        return portal.render(
            request, "operator/dead_letter.html", context, session=session, status=status
        )

    @routes.get(HOME + "/{service}/{dead_letter_id}")
    async def dead_letter(request: Request, service: str, dead_letter_id: str) -> HTMLResponse:
        session = operator(request)
        if (missing := unknown(request, service)) is not None:
            return missing
        return await show(request, session, service, dead_letter_id)

    @routes.post(HOME + "/{service}/{dead_letter_id}/afhandelen")
    async def acknowledge(request: Request, service: str, dead_letter_id: str) -> Response:
        session = operator(request)
        if (missing := unknown(request, service)) is not None:
            return missing
        form = await Form.of(request)
        reason = form.get("reden")
        if not reason:
            return await show(
                request,
                session,
                service,
                dead_letter_id,
                problem="Schrijf op waarom dit bericht niet opnieuw verwerkt hoeft te worden.",
                status=422,
            )
        await services.post(
            service,
            f"/operator/dead-letters/{quote(dead_letter_id, safe=':')}/acknowledge",
            token=session.token,
            json={"reason": reason},
        )
        return redirect(detail_path(service, dead_letter_id) + "?gedaan=afgehandeld")

    @routes.post(HOME + "/{service}/{dead_letter_id}/opnieuw")
    async def replay(request: Request, service: str, dead_letter_id: str) -> Response:
        session = operator(request)
        if (missing := unknown(request, service)) is not None:
            return missing
        outcome = await services.post(
            service,
            f"/operator/dead-letters/{quote(dead_letter_id, safe=':')}/replay",
            token=session.token,
        )
        if outcome.get("outcome") == "failed":
            # Nothing changed: show why on the dead letter's own page.
            return await show(
                request, session, service, dead_letter_id, outcome=outcome, status=409
            )
        return redirect(detail_path(service, dead_letter_id) + "?gedaan=" + outcome["outcome"])

    @routes.post(HOME + "/{service}/opnieuw")
    async def replay_all(request: Request, service: str) -> Response:
        session = operator(request)
        if (missing := unknown(request, service)) is not None:
            return missing
        form = await Form.of(request)
        consumer = form.get("verwerker")
        answer = await services.call(
            "POST",
            service,
            "/operator/dead-letters/replay",
            token=session.token,
            params={"consumer": consumer},
        )
        outcomes = answer.get("outcomes", [])
        applied = sum(1 for o in outcomes if o.get("outcome") != "failed")
        failed = len(outcomes) - applied
        return redirect(f"{HOME}?{urlencode({'verwerkt': applied, 'mislukt': failed})}")

    return routes
