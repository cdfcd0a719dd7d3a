"""The operator's screens for messages: those not delivered, the SWV's mailboxes, the
messages' wording and the municipalities' webhooks, each on notifications' API.

The operator sees no case content: a message is shown by what it is (which message, to
whom by role, why it did not arrive), never by what it says or an address of a person.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_contracts.integration import MUNICIPALITY_FIELDS
from passend_portal import labels, undelivered
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem, explain
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

ROLE = "operator"
HOME = "/beheer"
SERVICE = "notifications"
# The event types a webhook may carry (the integration allow-list), by their Dutch name.
WEBHOOK_EVENTS = sorted(MUNICIPALITY_FIELDS, key=labels.event_name)
# What each screen says after a change (``?gedaan=<what>``).
DONE = {
    "opnieuw": "Het bericht wordt opnieuw verstuurd. Het verdwijnt uit deze lijst zodra het "
    "onderweg is.",
    "mailbox": "Het adres van de mailbox is opgeslagen. Berichten die op een adres wachtten, "
    "kunt u nu opnieuw versturen bij Niet bezorgde berichten.",
    "mailbox-weg": "Het adres van de mailbox is verwijderd. Berichten voor deze mailbox "
    "wachten tot er weer een adres is.",
    "tekst": "De eigen tekst van het bericht is opgeslagen. Berichten gebruiken hem vanaf nu.",
    "standaard": "Het bericht gebruikt weer de standaardtekst.",
    "koppeling": "De koppeling is gemaakt. De gemeente krijgt vanaf nu de gekozen berichten.",
    "koppeling-weg": "De koppeling is gestopt. Berichten die nog klaarstonden, worden niet "
    "meer verstuurd.",
    "sleutel": "De nieuwe geheime sleutel is opgeslagen.",
}
NOT_PARKED = (
    "Dit bericht staat niet meer klaar om opnieuw te versturen: het is intussen verstuurd of "
    "wordt nog geprobeerd. Er is niets veranderd."
)
NO_SIGNING_KEY = (
    "Geheime sleutels van koppelingen kunnen nu niet worden bewaard: de sleutel waarmee de "
    "dienst Berichten ze versleutelt, is niet ingesteld. Vraag de technisch beheerder die in "
    "te stellen."
)
# What a webhook's shared secret must be, in words (not a secret itself).
SECRET_RULE = "Kies een geheime sleutel van minstens 32 tekens, anders dan de huidige."  # noqa: S105
NO_MAILBOX_ADDRESS = "Voor deze mailbox is geen e-mailadres ingesteld."
NO_PERSON_ADDRESS = (
    "Van deze medewerker staat geen e-mailadres in het overzicht van de medewerkers."
)
PLACEHOLDER = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
TEMPLATE_FIELDS = frozenset({"subject", "body"})
MAILBOX_FIELDS = frozenset({"email", "display_name", "recipient_id"})
WEBHOOK_FIELDS = frozenset({"url", "municipality", "event_types", "secret"})
ROTATION_FIELDS = frozenset({"secret", "overlap_seconds"})


def recipient_nl(message: dict[str, Any]) -> str:
    """To whom a parked message was, by role: a mailbox by its name, a person by role only."""
    recipient = str(message.get("recipient_id") or "")
    if message.get("channel") == "webhook":
        return "Koppeling van een gemeente"
    if recipient and _is_mailbox(recipient):
        return f"Mailbox {labels.mailbox_name(recipient)}"
    return undelivered.recipient_nl(message.get("recipient_role"))


def _is_mailbox(recipient_id: str) -> bool:
    kind, colon, region = recipient_id.partition(":")
    return recipient_id in ("education_specialist", "route_coach") or (
        kind == "team_no" and bool(colon) and bool(region)
    )


def reason_nl(message: dict[str, Any]) -> str:
    """Why it did not arrive; a missing address said for whom it is missing."""
    if message.get("reason_code") == "no_address" and message.get("recipient_role") != "parents":
        if _is_mailbox(str(message.get("recipient_id") or "")):
            return NO_MAILBOX_ADDRESS
        return NO_PERSON_ADDRESS
    return undelivered.reason_nl(message.get("reason_code"))


def parked_rows(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parked messages as the screen says them."""
    return [
        {
            "message_id": str(m.get("message_id")),
            "case": str(m.get("case_id", ""))[:8],
            "message": undelivered.message_nl(m.get("template")),
            "recipient": recipient_nl(m),
            "reason": reason_nl(m),
            "technical": m.get("reason"),
            "attempts": int(m.get("attempts") or 0),
            "parked_at": m.get("parked_at"),
            "needs_mailbox": reason_nl(m) == NO_MAILBOX_ADDRESS,
        }
        for m in messages
    ]


def unknown_placeholders(text: str, allowed: list[str]) -> list[str]:
    """The ``$names`` in ``text`` the message may not use, in order of appearance."""
    found = [a or b for a, b in PLACEHOLDER.findall(text)]
    return list(dict.fromkeys(name for name in found if name not in allowed))


def mailbox_id(form: Form) -> tuple[str | None, str | None]:
    """The mailbox the form names (``team_no`` takes a region), or the Dutch problem."""
    kind = form.get("kind")
    if kind not in labels.MAILBOXES:
        return None, "Kies welke mailbox het is."
    if kind != "team_no":
        return kind, None
    region = form.get("region").lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", region):
        return None, (
            "Vul de regio van Team NO in, in kleine letters zonder spaties, zoals in het "
            "overzicht van de regio's (bijvoorbeeld: waterweg)."
        )
    return f"team_no:{region}", None


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    def operator(request: Request) -> Session:
        return portal.session_of_role(request, ROLE)

    async def send(session: Session, method: str, path: str, key: str, json: Any = None) -> Any:
        headers = {"Idempotency-Key": key} if key else None
        return await services.call(
            method, SERVICE, path, token=session.token, json=json, headers=headers
        )

    def page(
        request: Request,
        session: Session,
        template: str,
        context: dict[str, Any],
        status: int = 200,
    ) -> HTMLResponse:
        done = request.query_params.get("gedaan", "")
        full = {"done_message": DONE.get(done), **context}
        return portal.render(request, template, full, session=session, status=status)

    async def read(session: Session, path: str) -> tuple[Any, str | None]:
        """The answer, or None and the Dutch reason it is missing."""
        try:
            return await services.get(SERVICE, path, token=session.token), None
        except ServiceDown as exc:
            return None, exc.message
        except ServiceError as exc:
            return None, explain(exc).general

    # Messages that did not arrive --------------------------------------------------------

    async def parked_page(
        request: Request, session: Session, problem: Problem | None = None, status: int = 200
    ) -> HTMLResponse:
        found, down = await read(session, "/messages/parked")
        context = {"rows": parked_rows(found or []), "down": down, "problem": problem or Problem()}
        return page(request, session, "operator/parked.html", context, status)

    @routes.get(HOME + "/bezorging")
    async def parked(request: Request) -> HTMLResponse:
        """Messages that stopped trying, with which message, to whom and why, in Dutch."""
        return await parked_page(request, operator(request))

    @routes.post(HOME + "/bezorging/{message_id}/opnieuw")
    async def resend(request: Request, message_id: str) -> Response:
        """Send a parked message again, after its cause was fixed (an address set)."""
        session = operator(request)
        form = await Form.of(request)
        try:
            await send(session, "POST", f"/messages/{quote(message_id)}/replay", form.get("key"))
        except ServiceError as exc:
            problem = Problem(general=NOT_PARKED if exc.status == 409 else explain(exc).general)
            problem.technical = explain(exc).technical
            return await parked_page(request, session, problem, status=exc.status)
        except ServiceDown as exc:
            return await parked_page(request, session, Problem(general=exc.message), 503)
        return redirect(HOME + "/bezorging?gedaan=opnieuw")

    # The SWV's functional mailboxes ------------------------------------------------------

    async def mailboxes_page(
        request: Request,
        session: Session,
        problem: Problem | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        (contacts, down), (waiting, _) = await asyncio.gather(
            read(session, "/contacts"), read(session, "/messages/parked")
        )
        known = {str(c["recipient_id"]) for c in contacts or []}
        waits: dict[str, int] = {}
        for m in waiting or []:
            recipient = str(m.get("recipient_id") or "")
            if m.get("reason_code") == "no_address" and _is_mailbox(recipient):
                waits[recipient] = waits.get(recipient, 0) + 1
        rows = [
            {
                **c,
                "name": labels.mailbox_name(str(c["recipient_id"])),
                "waiting": waits.get(str(c["recipient_id"]), 0),
            }
            for c in contacts or []
        ]
        missing = [
            {"recipient_id": r, "name": labels.mailbox_name(r), "waiting": n}
            for r, n in sorted(waits.items())
            if r not in known
        ]
        context = {
            "rows": rows,
            "missing": missing,
            "down": down,
            "problem": problem or Problem(),
            "values": values or {},
            "kinds": list(labels.MAILBOXES.items()),
        }
        return page(request, session, "operator/mailboxes.html", context, status)

    @routes.get(HOME + "/mailboxen")
    async def mailboxes(request: Request) -> HTMLResponse:
        """The SWV's mailboxes (education specialists, route coaching, Team NO per region)
        and their addresses; the mailboxes whose messages wait for an address."""
        return await mailboxes_page(request, operator(request))

    @routes.post(HOME + "/mailboxen")
    async def set_mailbox(request: Request) -> Response:
        """Set or correct a mailbox's address (``PUT /contacts/{recipient_id}``)."""
        session = operator(request)
        form = await Form.of(request)
        given = form.get("recipient_id")
        if given:
            recipient = given if _is_mailbox(given) else None
            wrong: str | None = "Kies welke mailbox het is."
        else:
            recipient, wrong = mailbox_id(form)
        if recipient is None:
            problem = Problem(general=wrong)
            return await mailboxes_page(request, session, problem, form.values(), 422)
        body = {"email": form.get("email"), "display_name": form.optional("display_name")}
        try:
            await send(
                session, "PUT", f"/contacts/{quote(recipient, safe=':')}", form.get("key"), body
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, MAILBOX_FIELDS)
            if "email" in problem.fields:
                problem.fields["email"] = "Vul een geldig e-mailadres in."
            return await mailboxes_page(request, session, problem, form.values(), 422)
        return redirect(HOME + "/mailboxen?gedaan=mailbox")

    @routes.post(HOME + "/mailboxen/verwijderen")
    async def remove_mailbox(request: Request) -> Response:
        """Erase a mailbox's address; its messages then wait for a new one."""
        session = operator(request)
        form = await Form.of(request)
        recipient = form.get("recipient_id")
        if not _is_mailbox(recipient):
            problem = Problem(general="Kies welke mailbox het is.")
            return await mailboxes_page(request, session, problem, status=422)
        try:
            await send(
                session, "DELETE", f"/contacts/{quote(recipient, safe=':')}", form.get("key")
            )
        except (ServiceError, ServiceDown) as exc:
            return await mailboxes_page(request, session, explain(exc), status=422)
        return redirect(HOME + "/mailboxen?gedaan=mailbox-weg")

    # The messages' wording ---------------------------------------------------------------

    @routes.get(HOME + "/berichtteksten")
    async def wordings(request: Request) -> HTMLResponse:
        """Every message the SWV sends, with its subject and whether it has its own text."""
        session = operator(request)
        found, down = await read(session, "/templates")
        rows = [
            {
                "name": str(t["template"]),
                "message": undelivered.message_nl(t["template"]),
                "subject": t["subject"],
                "overridden": t["overridden"],
            }
            for t in found or []
        ]
        rows.sort(key=lambda r: r["message"])
        return page(request, session, "operator/wordings.html", {"rows": rows, "down": down})

    async def wording_page(
        request: Request,
        session: Session,
        name: str,
        problem: Problem | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        try:
            found = await services.get(SERVICE, f"/templates/{quote(name)}", token=session.token)
        except ServiceError as exc:
            message = (
                "Dit bericht bestaat niet. Ga terug naar de berichtteksten."
                if exc.status == 404
                else explain(exc).general
            )
            refused: dict[str, Any] = {"message": message}
            return portal.render(request, "error.html", refused, status=exc.status, session=session)
        placeholders = [(p, labels.PLACEHOLDERS.get(p, "")) for p in found.get("placeholders", [])]
        context = {
            "name": name,
            "message": undelivered.message_nl(name),
            "wording": found,
            "placeholders": placeholders,
            "problem": problem or Problem(),
            "values": values or {},
            "action": f"{HOME}/berichtteksten/{quote(name)}",
        }
        return page(request, session, "operator/wording.html", context, status)

    @routes.get(HOME + "/berichtteksten/{name}")
    async def wording(request: Request, name: str) -> HTMLResponse:
        """One message's wording, to change or to set back to the default."""
        return await wording_page(request, operator(request), name)

    @routes.post(HOME + "/berichtteksten/{name}")
    async def change_wording(request: Request, name: str) -> Response:
        """The SWV's own wording; refused (in Dutch, naming the placeholders) when it asks
        for data the message may not carry."""
        session = operator(request)
        form = await Form.of(request)
        body = {"subject": form.get("subject"), "body": form.get("body")}
        try:
            await send(session, "PUT", f"/templates/{quote(name)}", form.get("key"), body)
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, TEMPLATE_FIELDS)
            if isinstance(exc, ServiceError) and exc.status == 422 and not problem.fields:
                allowed = await placeholders_of(session, name)
                extra = unknown_placeholders(f"{body['subject']}\n{body['body']}", allowed)
                problem.general = (
                    "Deze tekst gebruikt gegevens die dit bericht niet mag bevatten: "
                    + ", ".join(f"${p}" for p in extra)
                    + ". Gebruik alleen de gegevens die hieronder staan."
                    if extra
                    else "Deze tekst kan niet worden gebruikt. Controleer de gegevens met een "
                    "dollarteken: alleen de gegevens die hieronder staan, mogen erin."
                )
            return await wording_page(request, session, name, problem, form.values(), 422)
        return redirect(f"{HOME}/berichtteksten/{quote(name)}?gedaan=tekst")

    async def placeholders_of(session: Session, name: str) -> list[str]:
        found, _ = await read(session, f"/templates/{quote(name)}")
        return list((found or {}).get("placeholders", []))

    @routes.post(HOME + "/berichtteksten/{name}/standaard")
    async def reset_wording(request: Request, name: str) -> Response:
        """Back to the default wording."""
        session = operator(request)
        form = await Form.of(request)
        try:
            await send(session, "DELETE", f"/templates/{quote(name)}", form.get("key"))
        except (ServiceError, ServiceDown) as exc:
            return await wording_page(request, session, name, explain(exc), status=422)
        return redirect(f"{HOME}/berichtteksten/{quote(name)}?gedaan=standaard")

    # The municipalities' webhooks --------------------------------------------------------

    async def webhooks_page(
        request: Request,
        session: Session,
        problem: Problem | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
        form_name: str | None = None,
    ) -> HTMLResponse:
        found, down = await read(session, "/webhooks")
        rows = [
            {
                **w,
                "municipality_name": labels.MUNICIPALITY_NAMES.get(
                    str(w.get("municipality")), "onbekende gemeente"
                ),
                "events": [labels.event_name(str(e)) for e in w.get("event_types", [])],
                "status": labels.WEBHOOK_STATUS[bool(w.get("active"))],
            }
            for w in found or []
        ]
        context = {
            "rows": rows,
            "down": down,
            "problem": problem or Problem(),
            "problem_form": form_name,
            "values": values or {},
            "events": [(e, labels.event_name(e)) for e in WEBHOOK_EVENTS],
            "municipalities": list(labels.MUNICIPALITIES.items()),
        }
        return page(request, session, "operator/webhooks.html", context, status)

    def webhook_problem(exc: ServiceError | ServiceDown, fields: frozenset[str]) -> Problem:
        if isinstance(exc, ServiceError) and exc.status == 503:
            return Problem(general=NO_SIGNING_KEY)
        problem = explain(exc, fields)
        if "secret" in problem.fields:
            problem.fields["secret"] = SECRET_RULE
        if "municipality" in problem.fields:
            problem.fields["municipality"] = "Kies de gemeente uit de lijst."
        if "event_types" in problem.fields:
            problem.fields["event_types"] = "Kies minstens één soort bericht uit de lijst."
        if "url" in problem.fields:
            problem.fields["url"] = "Vul een volledig webadres in, beginnend met https://."
        return problem

    @routes.get(HOME + "/koppelingen")
    async def webhooks(request: Request) -> HTMLResponse:
        """The municipalities' systems that receive their cases' integration events."""
        return await webhooks_page(request, operator(request))

    @routes.post(HOME + "/koppelingen")
    async def subscribe(request: Request) -> Response:
        """A municipality's system receives the chosen events of its own cases."""
        session = operator(request)
        form = await Form.of(request)
        body = {
            "url": form.get("url"),
            "municipality": form.get("municipality"),
            "event_types": form.all("event_types"),
            "secret": form.get("secret"),
        }
        try:
            await send(session, "POST", "/webhooks", form.get("key"), body)
        except (ServiceError, ServiceDown) as exc:
            problem = webhook_problem(exc, WEBHOOK_FIELDS)
            values = {k: v for k, v in form.values().items() if k != "secret"}
            return await webhooks_page(request, session, problem, values, 422, "nieuw")
        return redirect(HOME + "/koppelingen?gedaan=koppeling")

    @routes.post(HOME + "/koppelingen/{subscription_id}/stoppen")
    async def unsubscribe(request: Request, subscription_id: str) -> Response:
        """Stop a webhook; what was still queued for it is not sent."""
        session = operator(request)
        form = await Form.of(request)
        try:
            await send(session, "DELETE", f"/webhooks/{quote(subscription_id)}", form.get("key"))
        except (ServiceError, ServiceDown) as exc:
            return await webhooks_page(
                request, session, webhook_problem(exc, frozenset()), None, 422
            )
        return redirect(HOME + "/koppelingen?gedaan=koppeling-weg")

    @routes.post(HOME + "/koppelingen/{subscription_id}/sleutel")
    async def rotate(request: Request, subscription_id: str) -> Response:
        """A new secret; the previous one signs too for the chosen overlap."""
        session = operator(request)
        form = await Form.of(request)
        hours = form.get("overlap_hours") or "24"
        body = {
            "secret": form.get("secret"),
            "overlap_seconds": int(hours) * 3600 if hours.isdigit() else hours,
        }
        try:
            await send(
                session, "POST", f"/webhooks/{quote(subscription_id)}/secret", form.get("key"), body
            )
        except (ServiceError, ServiceDown) as exc:
            problem = webhook_problem(exc, frozenset())
            if isinstance(exc, ServiceError) and exc.status == 422:
                problem.general = (
                    "Kies een nieuwe geheime sleutel van minstens 32 tekens, anders dan de huidige."
                )
            elif isinstance(exc, ServiceError) and exc.status == 409:
                problem.general = (
                    "Deze koppeling is gestopt; de sleutel kan niet meer worden vervangen."
                )
            return await webhooks_page(request, session, problem, None, exc_status(exc))
        return redirect(HOME + "/koppelingen?" + urlencode({"gedaan": "sleutel"}))

    return routes


def exc_status(exc: ServiceError | ServiceDown) -> int:
    return exc.status if isinstance(exc, ServiceError) else 503
