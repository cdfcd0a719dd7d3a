"""The case page of any role, and the small poll that waits for the services to catch up."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata
from passend_portal.messages import DONE_NL, Problem
from passend_portal.web import Portal, redirect


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()

    @routes.get("/zaken")
    async def open_case(request: Request, casus: str = "") -> Response:
        """The "open a case by its number" form: a UUID, or its first characters shown."""
        portal.session(request)
        return redirect(f"/zaken/{quote(casus.strip(), safe='')}")

    @routes.get("/zaken/{case_id}")
    async def case(request: Request, case_id: str) -> Response:
        session = portal.session(request)
        return await casedata.case_page(portal, request, session, case_id, Problem())

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
