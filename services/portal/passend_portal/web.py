"""What every page shares: the portal object, sessions, forms, rendering and redirects."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jinja2
import markupsafe
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from passend_portal import agreements, csrf, labels, names
from passend_portal.clients import SERVICE_NAMES_NL, Services
from passend_portal.messages import Problem
from passend_portal.personas import ROLE_LABELS
from passend_portal.session import COOKIE, Session, decode
from passend_portal.settings import PortalSettings

HOME_OF_ROLE = {
    "ib": "/school",
    "support_worker": "/werk",
    "education_specialist": "/werk",
    "team_no_member": "/team-no",
    "auditor": "/audit",
    "coordinator": "/overzicht",
    "operator": "/beheer",
    "teacher": "/klas",
    "swv_admin": "/mensen",
    "privacy_officer": "/privacy",
    # Called into cases (W29) and invited to meetings as an adviser: those invitations.
    "route_coach": "/uitnodigingen",
}

# The roles with a case page, who may look a case up (each within their own reach).
SEARCHERS = (
    "ib",
    "teacher",
    "support_worker",
    "education_specialist",
    "coordinator",
    "team_no_member",
    "auditor",
    # Finds again the cases called into (W29), not only those of an open invitation.
    "route_coach",
)
# Of those, who may also find a case by the pupil's name (intake decides: its
# name_search.NAME_SEARCHERS): the roles shown the name on their case page. Team NO sees
# age and group, never the name; the auditor opens a case by its number, for a purpose.
NAME_SEARCHERS = (
    "ib",
    "teacher",
    "support_worker",
    "education_specialist",
    "coordinator",
    "route_coach",
)


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in page."""


class WrongRole(Exception):
    """Signed in, but this page is for another role."""


@dataclass
class Portal:
    """The running portal: settings, the service clients and the templates."""

    settings: PortalSettings
    services: Services
    templates: jinja2.Environment
    names: names.DirectoryNames = field(init=False)

    def __post_init__(self) -> None:
        self.names = names.DirectoryNames(self.services)

    def session(self, request: Request) -> Session:
        session = decode(
            request.cookies.get(COOKIE),
            self.settings.session_secret,
            idle_seconds=self.settings.session_idle_seconds,
        )
        if session is None:
            raise SignInRequired
        return session

    def session_of_role(self, request: Request, *roles: str) -> Session:
        session = self.session(request)
        if session.role not in roles:
            raise WrongRole
        return session

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        session: Session | None = None,
        anonymous: bool = False,
    ) -> HTMLResponse:
        """``template`` with ``context``; ``anonymous``: as for someone not signed in."""
        if session is None and not anonymous:
            session = decode(
                request.cookies.get(COOKIE),
                self.settings.session_secret,
                idle_seconds=self.settings.session_idle_seconds,
            )
        variables: dict[str, Any] = {
            "request": request,
            "session": session,
            "role_label": ROLE_LABELS.get(session.role, session.role) if session else None,
            "home": HOME_OF_ROLE.get(session.role, "/") if session else "/aanmelden",
            "path": request.url.path,
            "problem": Problem(),
            "values": {},
        }
        token, new_browser = csrf.token_for_page(
            request.url.path, request.cookies, self.settings.session_secret
        )
        variables["csrf_token"] = token
        variables.update(context or {})
        response = names.Page(
            self.templates.get_template(template),
            variables,
            status=status,
            names=self.names,
            session=session,
        )
        if new_browser is not None:
            # The binding of this browser's forms before anyone signed in (csrf.py).
            response.set_cookie(
                csrf.BROWSER_COOKIE,
                new_browser,
                httponly=True,
                samesite="lax",
                secure=self.settings.secure_cookies,
            )
        return response


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("passend_portal", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["datum"] = labels.nl_date
    env.filters["uitgelegd"] = agreements.explained
    env.filters["zonder_afspraak"] = agreements.untagged
    env.globals["waarom"] = agreements.why
    env.filters["datumtijd"] = labels.nl_datetime
    env.filters["gebeurtenis"] = labels.event_name
    env.filters["uren"] = labels.hours
    env.filters["kort"] = labels.short_datetime
    env.filters["getal"] = labels.number
    env.filters["aantal"] = labels.counted
    env.filters["zorgniveau"] = labels.care_level
    env.filters["kenmerk"] = labels.pupil_reference
    names.install(env)
    env.globals.update(
        REQUEST_STATUS=labels.REQUEST_STATUS,
        CONSENT_STATUS=labels.CONSENT_STATUS,
        TRAJECTORY_STATUS=labels.TRAJECTORY_STATUS,
        LEVELS=labels.LEVELS,
        OUTCOMES=labels.OUTCOMES,
        STAGNATION_REASONS=labels.STAGNATION_REASONS,
        MUNICIPALITIES=labels.MUNICIPALITIES,
        MUNICIPALITY_NAMES=labels.MUNICIPALITY_NAMES,
        SIGNAL_TOPICS=labels.SIGNAL_TOPICS,
        DUE_STATUS=labels.DUE_STATUS,
        CONSENT_METHODS=labels.CONSENT_METHODS,
        PUPIL_VIEWS=labels.PUPIL_VIEWS,
        EVALUATION_KINDS=labels.EVALUATION_KINDS,
        PHASES=labels.PHASES,
        CASE_DIRECTOR_ROLES=labels.CASE_DIRECTOR_ROLES,
        CARE_LEVELS=labels.CARE_LEVELS,
        CONSENT_NEXT_STEPS=labels.CONSENT_NEXT_STEPS,
        DIRECTOR_BASIS=labels.DIRECTOR_BASIS,
        SIGNAL_RECIPIENTS=labels.SIGNAL_RECIPIENTS,
        DOCUMENT_KINDS=labels.DOCUMENT_KINDS,
        DOCUMENT_STAGES=labels.DOCUMENT_STAGES,
        DOCUMENT_STEPS=labels.DOCUMENT_STEPS,
        SERVICE_NAMES=SERVICE_NAMES_NL,
        SEARCHERS=SEARCHERS,
        NAME_SEARCHERS=NAME_SEARCHERS,
        label=labels.label,
        suggestion_reason=labels.suggestion_reason,
        RANKING_EXPLAINED=labels.RANKING_EXPLAINED,
        new_key=lambda: str(uuid.uuid4()),
        csrf_field=csrf_field,
    )
    return env


@jinja2.pass_context
def csrf_field(context: jinja2.runtime.Context) -> markupsafe.Markup:
    """The hidden CSRF input every ``<form method="post">`` carries: ``{{ csrf_field() }}``."""
    token = context.get("csrf_token", "")
    return markupsafe.Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


class Form:
    """A submitted form: ``application/x-www-form-urlencoded``, or ``multipart/form-data``
    when it carries a file (the files are in :attr:`files`, by field name)."""

    def __init__(
        self, data: Mapping[str, list[str]], files: Mapping[str, UploadFile] | None = None
    ) -> None:
        self.data = data
        self.files = dict(files or {})

    @classmethod
    async def of(cls, request: Request) -> Form:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await cls._multipart(request)
        body = (await request.body()).decode("utf-8", errors="replace")
        return cls(parse_qs(body, keep_blank_values=True))

    @classmethod
    async def _multipart(cls, request: Request) -> Form:
        # The file is spooled to disk by the parser; a document may be up to 20 MB.
        parsed = await request.form(max_files=5, max_fields=200)
        data: dict[str, list[str]] = {}
        files: dict[str, UploadFile] = {}
        for name, value in parsed.multi_items():
            if isinstance(value, str):
                data.setdefault(name, []).append(value)
            elif value.filename:  # an empty file input sends a part without a name
                files[name] = value
        return cls(data, files)

    def get(self, name: str, default: str = "") -> str:
        values = self.data.get(name)
        return values[0].strip() if values else default

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.data.get(name, []) if v.strip()]

    def optional(self, name: str) -> str | None:
        return self.get(name) or None

    def scoped(self, prefix: str) -> Form:
        """The fields named ``<prefix>.<name>``, as ``<name>``: one form among several."""
        start = prefix + "."
        return Form({k[len(start) :]: v for k, v in self.data.items() if k.startswith(start)})

    def values(self) -> dict[str, Any]:
        """For filling the form in again: one value per field, lists for repeated ones."""
        return {k: (v[0] if len(v) == 1 else v) for k, v in self.data.items()}


def comma_list(text: str) -> list[str]:
    """``"ib-marieke, lk-sanne"`` -> ``["ib-marieke", "lk-sanne"]``."""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def redirect(url: str) -> RedirectResponse:
    """After a POST that worked: see the result with a GET (reloading repeats nothing)."""
    return RedirectResponse(url, status_code=303)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def no_content() -> Response:
    return Response(status_code=204)
