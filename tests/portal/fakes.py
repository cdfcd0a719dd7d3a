"""Answers of the four services for the portal's unit tests: routes to JSON, or refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from passend_assignment.directory_file import DEV_FILE
from passend_portal import csrf
from passend_portal.session import COOKIE, Session, encode, read
from passend_portal.settings import PortalSettings

SECRET = b"test-secret-of-32-bytes-for-hmac!"
CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"
PORTS = {"intake": 9101, "assignment": 9102, "trajectory": 9103, "notifications": 9104}
Answer = tuple[int, Any] | Callable[[httpx.Request], tuple[int, Any]]


def settings(issuer_dir: Path | None = None) -> PortalSettings:
    return PortalSettings(
        service_urls={name: f"http://{name}.test:{port}" for name, port in PORTS.items()},
        session_secret=SECRET,
        dev_issuer_dir=issuer_dir,
        public_url="http://portal.test",
    )


def dev_directory() -> dict[str, Any]:
    """The dev directory's SWV as assignment's ``GET /directory`` answers it (its names)."""
    swv = yaml.safe_load(DEV_FILE.read_text())["swvs"][0]
    return {
        "version": 1,
        "settings": {
            "swv_id": swv["swv_id"],
            "name": swv["name"],
            "expertise_areas": swv.get("expertise_areas", []),
        },
        "calendar": {},
        "work_units": [
            {"work_unit_id": u["work_unit_id"], "name": u["name"]} for u in swv["work_units"]
        ],
        "workers": [
            {"worker_id": w["worker_id"], "expertise": w.get("expertise", [])}
            for w in swv.get("workers", [])
        ],
        "schools": [
            {"school_id": s["school_id"], "name": s["name"], "municipality": s["municipality"]}
            for s in swv["schools"]
        ],
        "school_holidays": {},
    }


def dev_names() -> dict[str, str]:
    swv = yaml.safe_load(DEV_FILE.read_text())["swvs"][0]
    return {p["person_id"]: p["display_name"] for p in swv.get("people", [])}


def names_answer(request: httpx.Request) -> tuple[int, Any]:
    """``GET /directory/names?ids=...`` from the dev directory: unknown ids left out."""
    known = dev_names()
    wanted = [i for i in request.url.params.get("ids", "").split(",") if i]
    return 200, {i: known[i] for i in wanted if i in known}


class FakeServices:
    """``(METHOD, service, path)`` -> answer; unknown routes answer 404, ``down`` ones fail.

    The directory's names (people, schools, work units) answer from the dev directory
    unless a test says otherwise: every page shows names.
    """

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str, str], Answer] = {
            ("GET", "assignment", "/directory/names"): names_answer,
            ("GET", "assignment", "/directory"): (200, dev_directory()),
        }
        self.down: set[str] = set()
        self.calls: list[tuple[str, str, str, Any, httpx.Headers]] = []

    def on(self, method: str, service: str, path: str, answer: Answer) -> None:
        self.routes[(method, service, path)] = answer

    def handler(self, request: httpx.Request) -> httpx.Response:
        service = request.url.host.split(".")[0]
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            body: Any = request.content  # a form with a file, as it was sent
        else:
            body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, service, request.url.path, body, request.headers))
        answer = self.routes.get((request.method, service, request.url.path))
        if answer is None:
            return httpx.Response(404, json=problem(404, {"message": "no such case"}))
        status, content = answer(request) if callable(answer) else answer
        if status >= 400 and isinstance(content, dict) and "detail" in content:
            content = problem(status, content["detail"])
        if isinstance(content, httpx.Response):
            return content  # not JSON (a document's content)
        return httpx.Response(status, json=content)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


# One sign-in moment for the whole test run: a person's cookies are one session, so the
# forms' CSRF token of one request is valid in the next.
SIGNED_IN_AT = time.time()


def cookie(role: str, subject: str, **claims: Any) -> dict[str, str]:
    session = Session(
        token=f"token-of-{subject}",
        subject=subject,
        role=role,
        swv="swv-waterweg",
        started=SIGNED_IN_AT,
        **claims,
    )
    return {COOKIE: encode(session, SECRET)}


def csrf_token(cookies: dict[str, str] | None = None, link: str | None = None) -> str:
    """The token the portal puts in the forms of this session (or of a parent's link)."""
    if link is not None:
        token = csrf.link_token(f"{csrf.LINK_PREFIX}{link}", SECRET)
        assert token is not None
        return token
    session = read((cookies or {}).get(COOKIE), SECRET)
    assert session is not None, "a session's token needs the session's cookie"
    return csrf.session_token(session, SECRET)


def with_token(body: str, cookies: dict[str, str] | None = None, link: str | None = None) -> str:
    """A form body as the portal's page sends it: with its CSRF token."""
    field = f"{csrf.FIELD}={csrf_token(cookies, link)}"
    return f"{body}&{field}" if body else field


IB = {"role": "ib", "subject": "ib-marieke", "school_id": "brin-11aa"}
WORKER = {"role": "support_worker", "subject": "ow-anouk", "work_unit_id": "wu-vlaardingen"}
TEAM_NO = {"role": "team_no_member", "subject": "tno-1", "region": "waterweg"}

REQUEST_DETAIL: dict[str, Any] = {
    "case_id": CASE,
    "school_id": "brin-11aa",
    "ib_id": "ib-marieke",
    "addressed_worker_id": "ow-anouk",
    "pupil_ref": "leerling-042",
    "levels": ["pupil"],
    "status": "submitted",
    "consent_status": "not_requested",
    "submitted_at": "2026-09-14T08:30:00Z",
    "parent_refs": ["ouder-1"],
    "educational_need": "Leest traag.",
    "tried_in_basic_support": "Extra leesbeurten.",
    "why_stuck": "Geen groei.",
    "pupil": {
        "erased": False,
        "name": "Noor Visser",
        "date_of_birth": "2017-05-12",
        "parents": [{"parent_ref": "ouder-1", "name": "M. Visser", "email": None, "phone": None}],
    },
    "consent": {
        "case_id": CASE,
        "status": "not_requested",
        "individual_support_allowed": False,
        "method": None,
        "parents_asked": [],
        "requested_by": None,
        "requested_at": None,
        "answered_by": None,
        "answered_at": None,
        "withdrawn_at": None,
        "link_expires_at": None,
        "pupil_heard_at": None,
        "pupil_view": None,
    },
    "progress": {},
    "history": [
        {
            "version": 1,
            "event_type": "nl.passend.intake.RequestSubmitted.v1",
            "occurred_at": "2026-09-14T08:30:00Z",
            "actor": "ib-marieke",
            "data": {},
        }
    ],
}
ASSIGNMENT_CASE: dict[str, Any] = {
    "case_id": CASE,
    "school_id": "brin-11aa",
    "ib_id": "ib-marieke",
    "receiving_worker_id": "ow-anouk",
    "responsible_worker_id": "ow-anouk",
    "work_unit_id": "wu-vlaardingen",
    "need_areas": ["reading"],
    "submitted_at": "2026-09-14T08:30:00Z",
    "contact_due_on": "2026-09-21",
    "contact_due_at": "2026-09-21T22:00:00Z",
    "offered_to": None,
    "claimed_by": None,
    "claimed_at": None,
    "first_contact_at": None,
    "reminded": False,
    "deadline_missed": False,
    "specialist_required": False,
    "route_coach_calls": 0,
}


def trajectory(**changes: Any) -> dict[str, Any]:
    """A trajectory view as trajectory's ``GET /cases/{id}/trajectory`` answers it."""
    view: dict[str, Any] = {
        "case_id": CASE,
        "status": "exploring",
        "version": 3,
        "opened": {"school_id": "brin-11aa", "worker_id": "ow-anouk"},
        "consent": None,
        "complex": False,
        "complexity": [],
        "start_conversation": None,
        "specialist_analysis": None,
        "current_plan_revision": None,
        "plans": [],
        "support": None,
        "paused": None,
        "sessions": [],
        "session_hours": 0,
        "signals": [],
        "evaluations": [],
        "care_level": None,
        "care_level_changes": [],
        "opp": None,
        "opp_evaluations": [],
        "youth_care": None,
        "case_director": None,
        "case_director_history": [],
        "escalations": [],
        "closed": None,
        "evaluations_due": [],
        "group": None,
        "measures": [],
        "reflections": [],
        "invitations": [],
    }
    view.update(changes)
    return view


def problem(status: int, detail: Any) -> dict[str, Any]:
    """An error answer as the services give it (RFC 9457 problem details), from the short
    form the tests write: a list of field errors, or ``{"rule", "message", "field"}``."""
    body: dict[str, Any] = {"type": f"urn:passend:problem:{status}", "status": status}
    if isinstance(detail, list):
        return {**body, "detail": "the request does not match this endpoint", "errors": detail}
    if isinstance(detail, dict):
        body["detail"] = str(detail.get("message", ""))
        body.update({k: detail[k] for k in ("rule", "field") if detail.get(k)})
        return body
    return {**body, "detail": str(detail)}


def summary(**changes: Any) -> dict[str, Any]:
    """One request as intake's lists answer it (``GET /requests``, a school's requests)."""
    fields = ("case_id", "school_id", "ib_id", "addressed_worker_id", "pupil_ref", "levels")
    row = {k: REQUEST_DETAIL[k] for k in fields}
    row.update(
        status="submitted", consent_status="not_requested", submitted_at="2026-09-14T08:30:00Z"
    )
    row.update(changes)
    return row


def found_requests(rows: list[dict[str, Any]]) -> Callable[[httpx.Request], tuple[int, Any]]:
    """``GET /requests?find=…`` or ``?case_ids=…`` as intake answers it, over ``rows`` (the
    requests within the caller's reach): a case id's start (six characters on) or a pupil
    reference; the given case ids."""

    def answer(request: httpx.Request) -> tuple[int, Any]:
        find = request.url.params.get("find", "").strip().lower()
        ids = {i for i in request.url.params.get("case_ids", "").split(",") if i}
        if not find and not ids:
            return 422, {"detail": {"rule": "find", "message": "give find or case_ids"}}
        return 200, [
            r
            for r in rows
            if r["case_id"] in ids
            or (find and r["pupil_ref"].lower() == find)
            or (len(find) >= 6 and r["case_id"].startswith(find))
        ]

    return answer
