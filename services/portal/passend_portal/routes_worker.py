"""The support worker's pages: inbox, queue, this week, and every step of a case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata, commands, finding, worklist
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import explain
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

WORKERS = ("support_worker", "education_specialist", "coordinator")
# Form name -> (service, path under the case, role(s) allowed, body builder).
Builder = Callable[[Form], dict[str, Any] | None]
STEPS: dict[str, tuple[str, str, Builder]] = {
    "eerste-contact": ("assignment", "first-contact", commands.first_contact),
    "startgesprek": ("trajectory", "start-conversation", commands.start_conversation),
    "analyse": ("trajectory", "specialist-analysis", lambda f: {"analysis": f.get("analysis")}),
    "plan": ("trajectory", "plans", commands.plan),
    "begeleiding-starten": ("trajectory", "support/start", lambda f: None),
    "sessies": ("trajectory", "sessions", commands.session),
    "signalen": ("trajectory", "signals", commands.signal),
    "evaluaties": ("trajectory", "evaluations", commands.evaluation),
    "afsluiten": ("trajectory", "close", lambda f: None),
}


def this_week(items: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """W21: what is overdue or due within the next seven days, soonest first."""
    horizon = (today + timedelta(days=7)).isoformat()
    return sorted(
        (i for i in items if str(i.get("due_on", "")) <= horizon),
        key=lambda i: str(i.get("due_on")),
    )


async def gather_my_cases(portal: Portal, session: Session) -> tuple[worklist.MyCases, list[str]]:
    """The worker's cases from assignment, trajectory and intake; the services that did not
    answer are named (the lists show what the others gave)."""
    me, token = session.subject, session.token

    async def part(service: str, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            return await portal.services.get(service, path, token=token, params=params), None
        except ServiceDown as exc:
            return None, exc.message
        except ServiceError:
            return None, None

    answers = await asyncio.gather(
        part("assignment", f"/workers/{me}/cases"),
        part("assignment", f"/workers/{me}/inbox"),
        part("assignment", "/deadlines", {"worker_id": me}),
        part("trajectory", f"/workers/{me}/evaluations-due"),
    )
    (claimed, _), (offered, _), (waiting, _), (due, _) = answers
    claimed, offered, waiting = claimed or [], offered or [], waiting or []
    requests = await finding.requests_of(
        portal, session, worklist.case_ids(claimed, offered, waiting)
    )
    mine = worklist.build(claimed, offered, waiting, (due or {}).get("evaluations", []), requests)
    return mine, sorted({problem for _, problem in answers if problem})


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    @routes.get("/werk")
    async def work(request: Request) -> HTMLResponse:
        """W24-W26, W21: her own cases, inbox, the work unit's queue, first contacts and
        evaluations due."""
        session = portal.session_of_role(request, *WORKERS)
        me, unit, token = session.subject, session.work_unit_id, session.token
        inbox, queue, deadlines, due, claimed = await asyncio.gather(
            services.get("assignment", f"/workers/{me}/inbox", token=token),
            casedata.optional(services.get("assignment", f"/work-units/{unit}/queue", token=token))
            if unit
            else asyncio.sleep(0, result=[]),
            services.get("assignment", "/deadlines", token=token, params={"worker_id": me}),
            casedata.optional(
                services.get("trajectory", f"/workers/{me}/evaluations-due", token=token)
            ),
            casedata.optional(services.get("assignment", f"/workers/{me}/cases", token=token)),
        )
        all_due = (due or {}).get("evaluations", [])
        requests = await finding.requests_of(portal, session, worklist.case_ids(claimed or []))
        context = {
            "inbox": inbox,
            "queue": queue or [],
            "deadlines": deadlines,
            "evaluations": this_week(all_due, date.today()),
            "mine": worklist.build(claimed or [], [], deadlines, all_due, requests),
        }
        return portal.render(request, "worker/home.html", context, session=session)

    @routes.get("/werk/casussen")
    async def my_cases(request: Request) -> HTMLResponse:
        """W25, W26, W21: every case that is hers: claimed, offered to her, waiting for the
        first contact; each with pupil, school, stand and the next deadline."""
        session = portal.session_of_role(request, *WORKERS)
        mine, problems = await gather_my_cases(portal, session)
        context = {"mine": mine, "problems": problems}
        return portal.render(request, "worker/my_cases.html", context, session=session)

    @routes.get("/zaken/{case_id}/suggesties")
    async def suggestions(request: Request, case_id: str) -> HTMLResponse:
        """W24: the requested expertise areas and the colleagues in the order of
        assignment's ranking (expertise, then the school, then hours free), each with a
        Dutch reason built from the answer's facts (loaded into the page by htmx)."""
        session = portal.session_of_role(request, "support_worker", "coordinator")
        try:
            ranked = await services.get(
                "assignment", f"/cases/{case_id}/suggestions", token=session.token
            )
            message = None
        except (ServiceError, ServiceDown) as exc:
            ranked, message = [], explain(exc).general
        # Every suggestion names the case's requested areas; the first one's will do.
        requested = ranked[0].get("requested_areas", []) if ranked else []
        context = {"suggestions": ranked, "requested": requested, "message": message}
        return portal.render(request, "partials/suggestions.html", context, session=session)

    @routes.post("/zaken/{case_id}/oppakken")
    async def claim(request: Request, case_id: str) -> Response:
        """W25: claim; a colleague who was first gets a plain message, not an error page."""
        session = portal.session_of_role(request, "support_worker")
        form = await Form.of(request)
        try:
            await services.post(
                "assignment",
                f"/cases/{case_id}/claim",
                token=session.token,
                idempotency_key=form.get("key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal, request, session, case_id, explain(exc), form="oppakken"
            )
        return redirect(f"/zaken/{case_id}?wacht=trajectory:0")

    @routes.post("/zaken/{case_id}/aanbieden")
    async def offer(request: Request, case_id: str) -> Response:
        """W24, W25: offer the case to the work unit's queue; the receiver stays responsible."""
        session = portal.session_of_role(request, "support_worker")
        form = await Form.of(request)
        body = {"work_unit_id": form.optional("work_unit_id"), "need_areas": form.all("need_areas")}
        try:
            await services.post(
                "assignment", f"/cases/{case_id}/offer", token=session.token, json=body
            )
        except (ServiceError, ServiceDown) as exc:
            return await casedata.case_page(
                portal, request, session, case_id, explain(exc), form="aanbieden"
            )
        return redirect(f"/zaken/{case_id}")

    @routes.post("/zaken/{case_id}/{step}")
    async def step(request: Request, case_id: str, step: str) -> Response:
        """One step of the trajectory (or the first contact), refused with its rule in Dutch."""
        session = portal.session_of_role(request, *WORKERS)
        if step not in STEPS:
            return await casedata.case_page(
                portal, request, session, case_id, explain(ServiceError("trajectory", 404, None))
            )
        service, path, build = STEPS[step]
        form = await Form.of(request)
        fields = form.scoped(step)
        try:
            answer = await services.post(
                service,
                f"/cases/{case_id}/{path}",
                token=session.token,
                json=build(fields),
                idempotency_key=fields.get("key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, commands.FIELDS.get(path, frozenset()))
            problem.fields = {f"{step}.{k}": v for k, v in problem.fields.items()}
            return await casedata.case_page(
                portal, request, session, case_id, problem, values=form.values(), form=step
            )
        if service == "trajectory":
            return redirect(f"/zaken/{case_id}?wacht=trajectory:{answer.get('version', 0)}")
        return redirect(f"/zaken/{case_id}")

    return routes
