"""The support worker's pages: inbox, queue, this week, and every step of a case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
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
Builder = Callable[[Form], dict[str, Any] | None]


@dataclass(frozen=True)
class Step:
    """One step of the process on a case page: the service command it sends, and the roles
    whose step it is (the service decides the rest and its refusal is shown in Dutch)."""

    service: str
    path: str  # under /cases/{case_id}/
    build: Builder
    roles: tuple[str, ...] = WORKERS


# Form name (in the page's URL) -> the step.
STEPS: dict[str, Step] = {
    "eerste-contact": Step("assignment", "first-contact", commands.first_contact),
    "startgesprek": Step("trajectory", "start-conversation", commands.start_conversation),
    "analyse": Step("trajectory", "specialist-analysis", lambda f: {"analysis": f.get("analysis")}),
    "plan": Step("trajectory", "plans", commands.plan),
    "begeleiding-starten": Step("trajectory", "support/start", lambda f: None),
    "sessies": Step("trajectory", "sessions", commands.session),
    "signalen": Step("trajectory", "signals", commands.signal),
    "evaluaties": Step("trajectory", "evaluations", commands.evaluation),
    "afsluiten": Step("trajectory", "close", lambda f: None),
    # W29: either side calls in the route coach: the school's IB or the support worker.
    "routebegeleider": Step(
        "assignment", "route-coach", commands.route_coach, ("support_worker", "ib")
    ),
    # S: the OPP is the school's document; the IB or the support side notes it and its
    # evaluations (twice a school year).
    "opp": Step(
        "trajectory", "opp", commands.opp, ("support_worker", "education_specialist", "ib")
    ),
    "opp-evaluatie": Step(
        "trajectory",
        "opp/evaluations",
        commands.opp_evaluation,
        ("support_worker", "education_specialist", "ib"),
    ),
    # R: who directs the case; youth care makes the wijkteam worker the director.
    "regiehouder": Step("trajectory", "case-director", commands.case_director),
    "jeugdhulp": Step(
        "trajectory", "youth-care", commands.youth_care, ("support_worker", "education_specialist")
    ),
    # R: a route that stagnates between evaluations goes to Team NO as well.
    "team-no": Step(
        "trajectory", "escalations", commands.escalation, ("support_worker", "education_specialist")
    ),
}
STEP_ROLES = tuple(sorted({role for step in STEPS.values() for role in step.roles}))


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
        return redirect(f"/zaken/{case_id}?wacht=trajectory:0&gedaan=oppakken")

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
        return redirect(f"/zaken/{case_id}?gedaan=aanbieden")

    @routes.post("/zaken/{case_id}/{step}")
    async def step(request: Request, case_id: str, step: str) -> Response:
        """One step of the process by the role whose step it is, with the caller's token;
        a refusal is shown at the step's form in Dutch, a success says what was done."""
        session = portal.session_of_role(request, *STEP_ROLES)
        chosen = STEPS.get(step)
        if chosen is None or session.role not in chosen.roles:
            status = 404 if chosen is None else 403
            problem = explain(ServiceError(chosen.service if chosen else "portal", status, None))
            return await casedata.case_page(portal, request, session, case_id, problem)
        form = await Form.of(request)
        fields = form.scoped(step)
        try:
            answer = await services.post(
                chosen.service,
                f"/cases/{case_id}/{chosen.path}",
                token=session.token,
                json=chosen.build(fields),
                idempotency_key=fields.get("key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, commands.FIELDS.get(chosen.path, frozenset()))
            problem.fields = {f"{step}.{k}": v for k, v in problem.fields.items()}
            return await casedata.case_page(
                portal, request, session, case_id, problem, values=form.values(), form=step
            )
        if chosen.service == "trajectory":
            version = answer.get("version", 0)
            return redirect(f"/zaken/{case_id}?wacht=trajectory:{version}&gedaan={step}")
        return redirect(f"/zaken/{case_id}?gedaan={step}")

    return routes
