"""A case's dossier as a person files it: gathered from the services' APIs, printed as a PDF.

One function serves the portal's "Dossier (PDF)" button and the ``passend-dossier``
command: :func:`make` reads the case with the caller's token (each read names its
purpose, ``dossier (PDF)``, and the services log it like any read of the case), looks up
the names of the people in it, and renders the PDF (:mod:`passend_portal.pdf`).

Who may make one (the roles that see the whole case): the school's IB, the support worker
and the education specialist of the case, the Team NO member of a case escalated to their
region, and the auditor. The services decide whether the case is within the caller's
reach; a case out of reach answers as an unknown one. After the pupil is erased no dossier
is made: the request's text and the pupil are unreadable, and a dossier without them
would misstate the case (:data:`ERASED`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from passend_portal import labels, names, story
from passend_portal.clients import SERVICE_NAMES_NL, ServiceDown, ServiceError, Services
from passend_portal.labels import AMSTERDAM
from passend_portal.personas import ROLE_LABELS
from passend_portal.session import Session

ROLES = ("ib", "support_worker", "education_specialist", "team_no_member", "auditor")
PURPOSE = "dossier (PDF)"
# The services whose stream of the case the integrity statement covers, in the order of
# the process (each answers its streams' heads to every reader of the case).
SERVICES = ("intake", "assignment", "trajectory", "notifications")

ERASED = (
    "Van deze casus kan geen dossier meer worden gemaakt: de gegevens van de leerling zijn "
    "gewist (recht op vergetelheid). De aanvraag, de toestemming en de documenten zijn niet "
    "meer te lezen, en een dossier zonder die gegevens zou de casus onjuist weergeven."
)
NOT_FOUND = "Deze casus is niet gevonden, of u heeft er geen toegang toe."
NOT_ALLOWED = (
    "Een dossier maken mag de IB van de school, de onderwijsondersteuner of "
    "onderwijsspecialist van de casus, Team NO bij een aangemelde casus en de auditor."
)


class DossierRefused(Exception):
    """No dossier: why, in Dutch, with the HTTP status the portal answers with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class StreamHead:
    """One service's stream of the case: how many events, and the hash of the last one,
    which seals every event before it."""

    service: str
    events: int
    head: str | None = None
    chain_ok: bool | None = None  # the service's own check of the stream's chain


@dataclass
class Dossier:
    """Everything the PDF shows, as the services answered it."""

    case_id: str
    made_by: str
    made_by_role: str
    made_at: datetime
    request: dict[str, Any]
    assignment: dict[str, Any] | None = None
    trajectory: dict[str, Any] | None = None
    documents: list[dict[str, Any]] | None = None
    heads: list[StreamHead] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # services that did not answer

    @property
    def short(self) -> str:
        return self.case_id[:8]


def erased(request: dict[str, Any]) -> bool:
    """Whether intake answers the request with its pupil erased."""
    pupil = request.get("pupil") or {}
    return bool(pupil.get("erased"))


def session_of_token(token: str) -> Session:
    """The person a bearer token names (its claims, not checked here: the services check
    the token on every read), for the command line, which has no portal session."""
    try:
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError, binascii.Error) as exc:
        raise DossierRefused("Dit is geen geldig toegangsbewijs (token).", 401) from exc
    if not isinstance(claims, dict) or not {"sub", "role", "swv"} <= claims.keys():
        raise DossierRefused("Dit is geen geldig toegangsbewijs (token).", 401)
    return Session(
        token=token, subject=str(claims["sub"]), role=str(claims["role"]), swv=str(claims["swv"])
    )


def purpose_of(reason: str | None) -> str:
    """What the services log as the reason for the reads: ``dossier (PDF)``, with the
    reader's own reason after it when they gave one (the auditor always does)."""
    said = " ".join((reason or "").split())[:400]
    return f"{PURPOSE}: {said}" if said else PURPOSE


async def _read(services: Services, service: str, path: str, token: str, purpose: str) -> Any:
    return await services.call("GET", service, path, token=token, headers={"X-Purpose": purpose})


async def _optional(
    services: Services, service: str, path: str, token: str, purpose: str, missing: list[str]
) -> Any:
    """A part of the dossier; None when the service refuses (nothing of it to show yet) or
    is away (the dossier then says which part it lacks)."""
    try:
        return await _read(services, service, path, token, purpose)
    except ServiceDown:
        missing.append(SERVICE_NAMES_NL.get(service, service))
        return None
    except ServiceError:
        return None


async def gather(
    services: Services, session: Session, case_id: str, purpose: str = PURPOSE
) -> Dossier:
    """Read the case from every service with ``session``'s token; :class:`DossierRefused`
    when the case is out of reach, the role makes no dossiers, or the pupil is erased."""
    if session.role not in ROLES:
        raise DossierRefused(NOT_ALLOWED, 403)
    token = session.token
    request = await _request_of(services, token, case_id, purpose)
    missing: list[str] = []
    assignment, trajectory, documents = await asyncio.gather(
        _optional(services, "assignment", f"/cases/{case_id}", token, purpose, missing),
        _optional(services, "trajectory", f"/cases/{case_id}/trajectory", token, purpose, missing),
        _optional(services, "intake", f"/requests/{case_id}/documents", token, purpose, missing),
    )
    dossier = Dossier(
        case_id=case_id,
        made_by=session.subject,
        made_by_role=session.role,
        made_at=datetime.now(AMSTERDAM),
        request=request,
        assignment=assignment,
        trajectory=trajectory,
        documents=documents if isinstance(documents, list) else None,
        missing=missing,
    )
    dossier.heads = await _integrity_heads(services, token, case_id, purpose)
    if not dossier.heads:
        dossier.heads = _read_versions(dossier)
    return dossier


def _read_versions(dossier: Dossier) -> list[StreamHead]:
    """How many events each service's read answer shows of the case (no hashes: no
    service answered its integrity heads)."""
    heads = [
        StreamHead(
            "intake",
            max((int(h.get("version", 0)) for h in dossier.request.get("history", [])), default=0),
        )
    ]
    if dossier.trajectory and dossier.trajectory.get("version") is not None:
        heads.append(StreamHead("trajectory", int(dossier.trajectory["version"])))
    return heads


async def _integrity_heads(
    services: Services, token: str, case_id: str, purpose: str
) -> list[StreamHead]:
    """Per service: the case's stream, its number of events, its last event's hash and the
    service's check of the stream's chain (``GET /cases/{case_id}/integrity``, open to
    every reader of the case and logged with the purpose). A service that refuses (the
    role reads no case there) or is away is left out."""

    async def one(service: str) -> list[StreamHead]:
        try:
            answer = await _read(services, service, f"/cases/{case_id}/integrity", token, purpose)
        except (ServiceError, ServiceDown):
            return []
        streams = (answer or {}).get("streams", []) if isinstance(answer, dict) else []
        return [
            StreamHead(
                service,
                int(s.get("events") or 0),
                s.get("head"),
                s.get("verified") if isinstance(s.get("verified"), bool) else None,
            )
            for s in streams
            if int(s.get("events") or 0) > 0
        ]

    found = await asyncio.gather(*(one(s) for s in SERVICES))
    return [h for heads in found for h in heads]


def people_in(dossier: Dossier) -> set[str]:
    """Every person id the dossier may name (looked up in the directory in one go)."""
    ids: set[str] = {dossier.made_by}
    r = dossier.request
    ids.update(str(r.get(k)) for k in ("ib_id", "addressed_worker_id") if r.get(k))
    consent = r.get("consent") or {}
    ids.update(str(consent.get(k)) for k in ("requested_by", "answered_by") if consent.get(k))
    a = dossier.assignment or {}
    ids.update(
        str(a.get(k))
        for k in ("receiving_worker_id", "responsible_worker_id", "claimed_by")
        if a.get(k)
    )
    for step in story.of(dossier.request, dossier.assignment, dossier.trajectory):
        ids.update(p for p in (step.who, step.whom, *step.people) if p)
    for document in dossier.documents or []:
        if document.get("attached_by"):
            ids.add(str(document["attached_by"]))
    t = dossier.trajectory or {}
    if t.get("opp") and t["opp"].get("recorded_by"):
        ids.add(str(t["opp"]["recorded_by"]))
    return {i for i in ids if not i.startswith(("service:", "parent:"))}


async def names_for(
    directory: names.DirectoryNames, session: Session, dossier: Dossier
) -> names.Lookup:
    """The directory's names of everyone in the dossier (and the schools and units)."""
    return await directory.lookup(session, sorted(people_in(dossier)))


async def make(
    services: Services,
    directory: names.DirectoryNames,
    session: Session,
    case_id: str,
    purpose: str = PURPOSE,
) -> tuple[Dossier, bytes]:
    """The dossier of ``case_id`` read with ``session``'s token, and its PDF."""
    from passend_portal import pdf  # the PDF library loads only when a dossier is made

    dossier = await gather(services, session, case_id, purpose)
    lookup = await names_for(directory, session, dossier)
    return dossier, pdf.case_dossier(dossier, lookup)


NO_OPP = "Bij deze casus is geen OPP vastgelegd."


async def make_opp(
    services: Services,
    directory: names.DirectoryNames,
    session: Session,
    case_id: str,
    purpose: str = PURPOSE,
) -> bytes:
    """S: the case's OPP as a PDF of its own (the same readers, reads and refusals as the
    dossier: the pupil's name comes from intake, the OPP from the trajectory)."""
    from passend_portal import pdf

    if session.role not in ROLES:
        raise DossierRefused(NOT_ALLOWED, 403)
    request = await _request_of(services, session.token, case_id, purpose)
    try:
        trajectory = await _read(
            services, "trajectory", f"/cases/{case_id}/trajectory", session.token, purpose
        )
    except ServiceError as exc:
        raise DossierRefused(NO_OPP, 404) from exc
    if not (trajectory or {}).get("opp"):
        raise DossierRefused(NO_OPP, 404)
    ids = {str(request.get("ib_id") or ""), str(trajectory["opp"].get("recorded_by") or "")}
    ids.update(str(e.get("recorded_by") or "") for e in trajectory.get("opp_evaluations", []))
    lookup = await directory.lookup(session, sorted(i for i in ids if i))
    return pdf.opp_document(case_id, request, trajectory, lookup, session.role)


async def _request_of(services: Services, token: str, case_id: str, purpose: str) -> dict[str, Any]:
    """Intake's request of the case; refused as unknown when out of reach, as erased once
    the pupil is."""
    try:
        path = f"/requests/{case_id}"
        request: dict[str, Any] = await _read(services, "intake", path, token, purpose)
    except ServiceError as exc:
        if exc.status == 410:
            raise DossierRefused(ERASED, 410) from exc
        if exc.status in (401, 403, 404, 422):
            raise DossierRefused(NOT_FOUND, 404) from exc
        raise
    if erased(request):
        raise DossierRefused(ERASED, 410)
    return request


def file_name(dossier_or_case: Dossier | str, what: str = "dossier") -> str:
    """``dossier-3f2c8a4e.pdf``: the case's short number, nothing of the pupil."""
    case_id = dossier_or_case.case_id if isinstance(dossier_or_case, Dossier) else dossier_or_case
    return f"{what}-{case_id[:8]}.pdf"


def made_line(dossier: Dossier, lookup: names.Lookup) -> str:
    """``Gemaakt op 5 december 2026, 10:12 door Anouk de Vries, onderwijsondersteuner.``"""
    role = ROLE_LABELS.get(dossier.made_by_role, labels.label({}, dossier.made_by_role))
    return (
        f"Gemaakt op {labels.nl_datetime(dossier.made_at.isoformat())} door "
        f"{lookup.person(dossier.made_by)}, {story.in_sentence(role)}."
    )
