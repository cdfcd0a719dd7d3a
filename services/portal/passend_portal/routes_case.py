"""The case page of any role, finding a case by its number, and the poll that waits for the
services to catch up."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata, finding
from passend_portal.clients import ServiceDown
from passend_portal.messages import DONE_NL, Problem
from passend_portal.session import Session
from passend_portal.web import NAME_SEARCHERS, Portal, redirect


async def found_page(portal: Portal, request: Request, session: Session, text: str) -> Response:
    """The case ``text`` names, opened on the role's case page; else a page that says none
    was found (or lists the several that were)."""
    wanted = finding.cleaned(text)
    down = None
    try:
        cases = await finding.find_cases(portal, session, wanted) if wanted else []
    except ServiceDown as exc:
        cases, down = [], exc.message
    if len(cases) == 1:
        return redirect(finding.case_page_of(session.role, str(cases[0]["case_id"])))
    # A whole number is shown as its short number, as everywhere else.
    shown = wanted[:8] if finding.is_case_id(wanted) else wanted
    context = {
        "text": shown,
        "cases": cases,
        "down": down,
        "auditor": session.role == "auditor",
        "by_name": session.role in NAME_SEARCHERS,
        # Found by the pupil's name (intake says which): the name helps to choose.
        "named": any(c.get("pupil_name") for c in cases),
    }
    page: HTMLResponse = portal.render(request, "find.html", context, session=session)
    return page


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()

    @routes.get("/zoeken")
    async def search(request: Request, q: str = "") -> Response:
        """A case by its short number, its whole number, the pupil's reference or (for the
        roles intake lets search by it) the pupil's name, within the person's reach: one
        found opens it, none says so in Dutch, several are listed (with the names)."""
        session = portal.session_of_role(request, *finding.SEARCHERS)
        return await found_page(portal, request, session, q)

    @routes.get("/zaken")
    async def open_case(request: Request, casus: str = "") -> Response:
        """The "open a case by its number" form: the number shown (8 characters), the whole
        number, or the pupil's reference."""
        session = portal.session(request)
        return await found_page(portal, request, session, casus)

    @routes.get("/zaken/{case_id}")
    async def case(request: Request, case_id: str) -> Response:
        session = portal.session(request)
        if not finding.is_case_id(case_id):
            # A short number in the address (typed, or from a list): the case it is.
            return redirect(f"/zoeken?{urlencode({'q': case_id})}")
        return await casedata.case_page(portal, request, session, case_id.lower(), Problem())

    @routes.get("/zaken/{case_id}/bijgewerkt")
    async def updated(
        request: Request, case_id: str, wacht: str = "", gedaan: str = ""
    ) -> Response:
        """Polled by htmx: the same waiting note until caught up, then reload the case page
        (still saying what was done)."""
        session = portal.session(request)
        done = gedaan if gedaan in DONE_NL else ""
        if await casedata.caught_up(portal, session, case_id, wacht):
            target = f"/zaken/{case_id}?nieuw=1" + (f"&gedaan={done}" if done else "")
            return Response(status_code=204, headers={"HX-Redirect": target})
        context = {"case_id": case_id, "wait": wacht, "done_step": done}
        page: HTMLResponse = portal.render(
            request, "partials/waiting.html", context, session=session
        )
        return page

    return routes
