"""The auditor's pages: a case's timeline across the services, and the case as of a moment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_backbone.audit.merge import merge
from passend_backbone.audit.report import html_report
from passend_portal import finding, labels, parents, undelivered
from passend_portal.clients import SERVICE_NAMES_NL, ServiceDown, ServiceError
from passend_portal.commands import AMSTERDAM
from passend_portal.session import Session
from passend_portal.settings import SERVICES
from passend_portal.web import Portal, redirect


def in_dutch(entry: dict[str, Any], names: dict[str, str] | None = None) -> dict[str, Any]:
    """A message that could not be sent, with its reason in Dutch: the notifications
    service's own detail is technical English for operators, not for an auditor. A message
    to a parent names the parent from ``names`` (reference -> name, intake's), never by
    the school's pseudonymous reference."""
    kind = str(entry.get("event_type", ""))
    data = entry.get("data") or {}
    if not isinstance(data, dict):
        return entry
    reason = undelivered.reason_nl(data.get("reason_code"))
    if ".NotificationFailed." in f"{kind}.":
        said = (
            f"Verzenden via {data.get('channel')} mislukt (poging {data.get('attempt')}): {reason}"
        )
    elif ".NotificationParked." in f"{kind}.":
        said = f"Bericht geparkeerd na {data.get('attempts')} pogingen: {reason}"
    elif ".NotificationScheduled." in f"{kind}.":
        role, whom = data.get("recipient_role"), data.get("recipient_id")
        if role == "parents":
            who = parents.named(whom, names or {})
        else:
            who = undelivered.recipient_nl(role).lower()  # mid-sentence
            if whom:
                who = f"{who} {whom}"  # the text filter names the person
        said = (
            f"{undelivered.message_nl(data.get('template'))}, voor {who}, via {data.get('channel')}"
        )
    else:
        return entry
    return {**entry, "description": said}


def as_of_of(moment: str) -> datetime | None:
    """``2027-03-02T09:15`` from a datetime-local field, read as Dutch local time."""
    if not moment:
        return None
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=AMSTERDAM)


async def timeline(
    portal: Portal, session: Session, case_id: str, purpose: str, as_of: datetime | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every service's events (and logged reads) of the case from its audit API, merged in
    causal order; the services whose audit API did not answer are named."""
    params = {"purpose": purpose}
    if as_of is not None:
        params["as_of"] = as_of.isoformat()

    async def one(service: str) -> tuple[str, dict[str, Any] | None, str | None]:
        path = f"/audit/cases/{case_id}/events"
        try:
            answer = await portal.services.get(service, path, token=session.token, params=params)
            return service, answer, None
        except ServiceDown:
            name = SERVICE_NAMES_NL.get(service, service)
            return (
                service,
                None,
                f"De gebeurtenissen van de dienst {name} ontbreken hier: die dienst is nu "
                "niet bereikbaar.",
            )
        except ServiceError as exc:
            if exc.status == 404:  # no /audit there yet, or no event of this case
                return service, None, None
            name = SERVICE_NAMES_NL.get(service, service)
            return service, None, f"De dienst {name} gaf de gebeurtenissen niet ({exc.status})."

    answers = await asyncio.gather(*(one(s) for s in SERVICES))
    entries: list[dict[str, Any]] = []
    problems = []
    for service, answer, problem in answers:
        if answer is not None:
            entries.extend(answer.get("events", []))
            entries.extend({"kind": "read", **r} for r in answer.get("reads", []))
        elif service == "intake" and problem is None:
            # Intake without /audit yet: the request's own history stands in for it.
            entries.extend(await intake_history(portal, session, case_id, as_of))
        if problem:
            problems.append(problem)
    merged = merge(entries)
    names = {}
    if to_parents(merged):  # only then are the parents' names read (and logged)
        names = await parents.read_names(portal, session, case_id, purpose)
    return [in_dutch(dict(e), names) for e in merged], problems


def to_parents(entries: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a message to a parent is among the entries (only then are names read)."""
    return any(
        ".NotificationScheduled." in f"{e.get('event_type', '')}."
        and (e.get("data") or {}).get("recipient_role") == "parents"
        for e in entries
        if isinstance(e.get("data") or {}, dict)
    )


async def intake_history(
    portal: Portal, session: Session, case_id: str, as_of: datetime | None
) -> list[dict[str, Any]]:
    """Where no service offers ``/audit`` yet: the request's own history at intake."""
    try:
        detail = await portal.services.get("intake", f"/requests/{case_id}", token=session.token)
    except (ServiceError, ServiceDown):
        return []
    return [
        {
            "kind": "event",
            "event_id": f"{case_id}:{h['version']}",
            "service": "intake",
            "event_type": h["event_type"],
            "occurred_at": h["occurred_at"],
            "actor": h["actor"],
            "stream_version": h["version"],
            "position": 0,
            "correlation_id": "",
            "description": labels.event_name(h["event_type"]),
        }
        for h in detail.get("history", [])
        if as_of is None or datetime.fromisoformat(h["occurred_at"]) <= as_of
    ]


def shown_number(text: str) -> str:
    """A case's number as the pages show it: a whole number by its first eight characters."""
    wanted = finding.cleaned(text)
    return wanted[:8] if finding.is_case_id(wanted) else wanted


@dataclass(frozen=True)
class ChainCheck:
    """One service's integrity check, said for the auditor: the service, whether every
    link of its hash chains holds (None: not checked), and what was found."""

    service: str
    ok: bool | None
    said: str


def where(stream_id: str, case_id: str) -> str:
    """The broken stream in words: this case, another case by its short number, or not a case."""
    if stream_id == case_id:
        return "deze casus"
    try:
        UUID(stream_id)
    except ValueError:
        return "een dossier dat geen casus is (bijvoorbeeld de lijst van medewerkers)"
    return f"casus {stream_id[:8]}"


def chain_check(service: str, report: dict[str, Any], case_id: str) -> ChainCheck:
    """A service's ``GET /audit/verify`` answer as a Dutch sentence."""
    events = labels.counted(report.get("events_checked", 0), "gebeurtenis", "gebeurtenissen")
    streams = labels.counted(report.get("streams_checked", 0), "dossier", "dossiers")
    if report.get("ok"):
        said = (
            f"In orde. {events} in {streams} gecontroleerd: niets is achteraf gewijzigd, "
            "weggehaald of tussengevoegd."
        )
        return ChainCheck(service, True, said)
    broken = report.get("first_break") or {}
    said = (
        f"Niet in orde. In {labels.counted(report.get('broken_streams', 0), 'dossier', 'dossiers')}"
        f" (van de {labels.number(report.get('streams_checked', 0))} gecontroleerde) klopt de "
        "controleketen niet. De eerste fout: "
        f"{labels.chain_break(broken.get('reason'))}, bij stap "
        f"{labels.number(broken.get('stream_version', 0))} van "
        f"{where(str(broken.get('stream_id', '')), case_id)}. Meld dit bij de beheerder."
    )
    return ChainCheck(service, False, said)


async def integrity(portal: Portal, session: Session, case_id: str) -> list[ChainCheck]:
    """Every service's hash chains of the auditor's SWV (``GET /audit/verify``), each
    said in Dutch; a service that does not answer is named as not checked."""

    async def one(service: str) -> ChainCheck:
        try:
            report = await portal.services.get(service, "/audit/verify", token=session.token)
        except ServiceDown:
            return ChainCheck(
                service,
                None,
                "Niet gecontroleerd: de dienst is nu niet bereikbaar. "
                "Probeer het over een paar minuten opnieuw.",
            )
        except ServiceError as exc:
            why = (
                "deze dienst biedt de controle niet aan"
                if exc.status == 404
                else "de dienst gaf geen antwoord op de controle"
            )
            return ChainCheck(service, None, f"Niet gecontroleerd: {why}.")
        return chain_check(service, report, case_id)

    return list(await asyncio.gather(*(one(s) for s in SERVICES)))


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    @routes.get("/audit")
    async def start(request: Request, casus: str = "") -> HTMLResponse:
        """The lookup form; ``casus`` fills in the number (from the search box)."""
        session = portal.session_of_role(request, "auditor")
        context = {"case_id": shown_number(casus)}
        return portal.render(request, "audit/start.html", context, session=session)

    @routes.get("/audit/zaken")
    async def open_case(
        request: Request, casus: str = "", doel: str = "", moment: str = ""
    ) -> Response:
        session = portal.session_of_role(request, "auditor")
        wanted = finding.cleaned(casus)
        if not finding.is_case_id(wanted):
            # The short number shown everywhere, or a pupil's reference: the case it names.
            try:
                found = await finding.find_cases(portal, session, wanted) if wanted else []
            except ServiceDown as exc:
                context = {"case_id": wanted, "message": exc.message}
                return portal.render(request, "audit/start.html", context, session=session)
            if len(found) != 1:
                return not_found(request, session, wanted, found, doel)
            wanted = str(found[0]["case_id"])
        query = urlencode({"doel": doel, "moment": moment})
        return redirect(f"/audit/zaken/{quote(wanted.lower(), safe='')}?{query}")

    def not_found(
        request: Request,
        session: Session,
        wanted: str,
        found: list[dict[str, Any]],
        purpose: str,
    ) -> HTMLResponse:
        """The lookup again: no case has this number (said plainly, never "0 events"), or
        several match (a pupil's reference): each to choose from."""
        shown = shown_number(wanted)
        context: dict[str, Any] = {"case_id": shown, "found": found, "purpose": purpose}
        if not found:
            context["message"] = f"Geen casus gevonden met nummer „{shown}”."
        return portal.render(request, "audit/start.html", context, session=session)

    @routes.get("/audit/zaken/{case_id}")
    async def case(
        request: Request,
        case_id: str,
        doel: str = "",
        moment: str = "",
        inzages: str = "",
        controle: str = "",
    ) -> Response:
        """Timeline and trajectory as of ``moment``; every read names its purpose (NEN 7513).
        With ``controle=1`` also every service's integrity check of its hash chains."""
        session = portal.session_of_role(request, "auditor")
        if not finding.is_case_id(case_id):
            query = urlencode({"casus": case_id, "doel": doel, "moment": moment})
            return redirect(f"/audit/zaken?{query}")
        case_id = case_id.lower()
        if not doel.strip():
            asked = {
                "case_id": shown_number(case_id),
                "message": "Vul in waarom u deze casus inziet.",
            }
            return portal.render(request, "audit/start.html", asked, status=422, session=session)
        as_of = as_of_of(moment)
        params = {"as_of": as_of.isoformat()} if as_of else None
        entries, problems = await timeline(portal, session, case_id, doel, as_of)
        try:
            trajectory = await services.get(
                "trajectory", f"/cases/{case_id}/trajectory", token=session.token, params=params
            )
        except (ServiceError, ServiceDown):
            trajectory = None
        reads = [e for e in entries if e.get("kind") == "read"]
        if as_of is None and trajectory is None and not problems and len(reads) == len(entries):
            # No service knows an event of this number: no such case in the SWV.
            return not_found(request, session, case_id, [], doel)
        context: dict[str, Any] = {
            "case_id": case_id,
            "purpose": doel,
            "moment": moment,
            "as_of": as_of,
            "with_reads": inzages == "1",
            "read_count": len(reads),
            "entries": entries if inzages == "1" else [e for e in entries if e not in reads],
            "problems": problems,
            "trajectory": trajectory,
            "checks": await integrity(portal, session, case_id) if controle == "1" else None,
        }
        return portal.render(request, "audit/case.html", context, session=session)

    @routes.get("/audit/zaken/{case_id}/rapport")
    async def report(request: Request, case_id: str, doel: str = "", moment: str = "") -> Response:
        """The archived form: one self-contained HTML document with its content hash."""
        session = portal.session_of_role(request, "auditor")
        if not doel.strip():
            return portal.render(
                request, "audit/start.html", {"case_id": case_id}, status=422, session=session
            )
        entries, problems = await timeline(portal, session, case_id, doel, as_of_of(moment))
        document = html_report(
            case_id,
            entries,
            generated_at=datetime.now(UTC),
            generated_by=session.subject,
            sources={s: portal.settings.service_urls[s] for s in SERVICES},
            problems=problems,
        )
        filename = f"casus-{case_id}.html"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        return HTMLResponse(document, headers=headers)

    return routes
