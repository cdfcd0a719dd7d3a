"""Team NO's pages: the region's agenda, recording a decision, the stagnation report (R)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_contracts.municipalities import display_name
from passend_portal import casedata, commands, documents, finding, labels
from passend_portal.charts import bar_chart
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem, explain
from passend_portal.session import Session
from passend_portal.steering import Filters
from passend_portal.web import Form, Portal, redirect

OVERSIGHT = ("team_no_member", "education_specialist", "coordinator", "auditor")


def region_of(session: Session, asked: str | None, regions: list[dict[str, Any]]) -> str:
    """A Team NO member sees their own region; oversight roles pick one of the regions the
    SWV configured (R, TNO), the first when they picked none."""
    if session.role == "team_no_member" and session.region:
        return session.region
    known = [r["region"] for r in regions]
    if asked and (asked in known or not known):
        return asked
    return known[0] if known else (asked or "")


async def configured_regions(portal: Portal, session: Session) -> list[dict[str, Any]]:
    """TNO: the SWV's Team NO regions as its directory configures them (trajectory's list),
    for the oversight roles that pick one; a Team NO member has their own."""
    if session.role == "team_no_member" and session.region:
        return []
    answer = await portal.services.get("trajectory", "/regions", token=session.token)
    regions: list[dict[str, Any]] = answer.get("regions", [])
    return regions


def age_on(date_of_birth: object, today: date) -> int | None:
    """The pupil's age in whole years on ``today``; None without a (readable) birth date."""
    try:
        born = date.fromisoformat(str(date_of_birth))
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def group_of(trajectory: dict[str, Any] | None) -> str | None:
    """The pupil's group (C) as the teacher or the start conversation gave it."""
    if not trajectory:
        return None
    talk = trajectory.get("start_conversation") or {}
    found = trajectory.get("group") or talk.get("group")
    return str(found) if found else None


async def decision_context(
    portal: Portal, session: Session, case_id: str, trajectory: dict[str, Any] | None = None
) -> dict[str, Any]:
    """R: what Team NO needs to decide on a case: the school's request (its three texts,
    the school, the pupil's age), the trajectory (group, plan goals, the specialist's
    analysis, signals, evaluations, the escalation) and the case's documents. Each read is
    the service's own, logged there as a read of the case; a part that can't be read is
    left out (no documents: None).
    ``trajectory``: the trajectory the page read already (not read twice).

    Minimised: Team NO decides on the situation, so the page shows the pupil's age and
    group, never the name, birth date or the parents' details the request also holds.
    """
    services = portal.services
    read_request = casedata.optional(
        services.get("intake", f"/requests/{case_id}", token=session.token)
    )
    # W22: the documents to decide on (the school's groeidocument, the worker's minutes).
    read_documents = documents.of_case(services, session, case_id)
    if trajectory is None:
        request, trajectory, held = await asyncio.gather(
            read_request,
            casedata.optional(
                services.get("trajectory", f"/cases/{case_id}/trajectory", token=session.token)
            ),
            read_documents,
        )
    else:
        request, held = await asyncio.gather(read_request, read_documents)
    pupil = (request or {}).get("pupil") or {}
    today = datetime.now(labels.AMSTERDAM).date()
    return {
        "request": request,
        "trajectory": trajectory,
        "age": age_on(pupil.get("date_of_birth"), today),
        "group": group_of(trajectory),
        "school_id": (request or {}).get("school_id")
        or ((trajectory or {}).get("opened") or {}).get("school_id"),
        "goals": casedata.goals_of(trajectory),
        "documents": held,
    }


def stagnation_charts(report: dict[str, Any]) -> dict[str, Any]:
    """R: the report's counts as bars, by reason and by municipality."""
    by_reason = [
        (labels.label(labels.STAGNATION_REASONS, reason), float(n))
        for reason, n in sorted(report.get("by_reason", {}).items())
    ]
    by_municipality = [
        (display_name(code), float(n))  # every CBS code, from the contracts' list
        for code, n in sorted(report.get("by_municipality", {}).items())
    ]
    return {
        "reason_chart": bar_chart("Stagnaties per reden", by_reason, unit="keer"),
        "municipality_chart": bar_chart(
            "Aanmeldingen per gemeente", by_municipality, unit="casussen", unit_one="casus"
        ),
        "by_reason": by_reason,
        "by_municipality": by_municipality,
    }


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    @routes.get("/team-no")
    async def agenda(request: Request, regio: str | None = None) -> HTMLResponse:
        """R: the cases awaiting the region's decision, with reasons and the draft plan."""
        session = portal.session_of_role(request, *OVERSIGHT)
        regions = await configured_regions(portal, session)
        region = region_of(session, regio, regions)
        answer: dict[str, Any] = {}
        if region:  # an SWV without regions has no agenda yet
            answer = await services.get(
                "trajectory", f"/regions/{region}/team-no-agenda", token=session.token
            )
        cases = answer.get("cases", [])
        contexts = await asyncio.gather(
            *(decision_context(portal, session, str(c["case_id"])) for c in cases)
        )
        items = [{**c, "context": found} for c, found in zip(cases, contexts, strict=True)]
        context = {"region": region, "regions": regions, "cases": items}
        return portal.render(request, "teamno/agenda.html", context, session=session)

    async def case_view(
        request: Request,
        session: Session,
        case_id: str,
        problem: Problem,
        values: dict[str, Any],
        form: str | None = None,
    ) -> Response:
        wait = request.query_params.get("wacht", "")
        if wait and await casedata.caught_up(portal, session, case_id, wait):
            wait = ""
        trajectory = await services.get(
            "trajectory", f"/cases/{case_id}/trajectory", token=session.token
        )
        found = await decision_context(portal, session, case_id, trajectory)
        context = {
            "case_id": case_id,
            "trajectory": trajectory,
            "context": found,
            "documents": found["documents"],
            "documents_action": f"/team-no/zaken/{case_id}/documenten",
            "problem": problem,
            "problem_form": form,
            "values": values,
            "wait": wait,
            "wait_url": f"/team-no/zaken/{case_id}",
        }
        status = 422 if problem else 200
        return portal.render(request, "teamno/case.html", context, status=status, session=session)

    @routes.get("/team-no/zaken/{case_id}")
    async def case(request: Request, case_id: str) -> Response:
        session = portal.session_of_role(request, *OVERSIGHT)
        if not finding.is_case_id(case_id):
            # The short number shown everywhere: the case it names, if within reach.
            return redirect(f"/zoeken?{urlencode({'q': case_id})}")
        return await case_view(request, session, case_id.lower(), Problem(), {})

    @routes.post("/team-no/zaken/{case_id}")
    async def decide(request: Request, case_id: str) -> Response:
        """R: record Team NO's decision, the assignment and the provider."""
        session = portal.session_of_role(request, "team_no_member")
        form = await Form.of(request)
        try:
            answer = await services.post(
                "trajectory",
                f"/cases/{case_id}/team-no-decision",
                token=session.token,
                json=commands.team_no_decision(form),
                idempotency_key=form.get("key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, commands.FIELDS["team-no-decision"])
            return await case_view(request, session, case_id, problem, form.values())
        return redirect(f"/team-no/zaken/{case_id}?wacht=trajectory:{answer.get('version', 0)}")

    @routes.post("/team-no/zaken/{case_id}/documenten")
    async def attach_document(request: Request, case_id: str) -> Response:
        """W22: a Team NO member attaches a document to a case escalated to the region (the
        minutes of its meeting, a report); intake checks the reach and the file."""
        session = portal.session_of_role(request, "team_no_member")
        form = await Form.of(request)
        try:
            answer = await documents.attach(services, session, case_id, form)
        except (ServiceError, ServiceDown) as exc:
            problem = documents.problem_of(exc)
            return await case_view(
                request, session, case_id, problem, form.values(), form="documenten"
            )
        version = answer.get("version", 0)
        return redirect(f"/team-no/zaken/{case_id}?wacht=intake:{version}#documenten")

    @routes.get("/team-no/stagnatie")
    async def stagnations(request: Request, regio: str | None = None) -> HTMLResponse:
        """R: stagnations by reason and municipality, to learn from structurally; over a
        chosen period (``van``/``tot``, the escalation days, both included)."""
        session = portal.session_of_role(request, *OVERSIGHT)
        regions = await configured_regions(portal, session)
        region = region_of(session, regio, regions)
        period, problems = Filters.of(request.query_params)
        params = {
            key: day.isoformat()
            for key, day in (("since", period.since), ("until", period.until))
            if day is not None
        }
        # An SWV without regions has nothing to report yet.
        report: dict[str, Any] = {
            "escalations": 0,
            "by_reason": {},
            "by_municipality": {},
            "by_reason_and_municipality": [],
        }
        if region:
            report = await services.get(
                "trajectory",
                f"/regions/{region}/stagnations",
                token=session.token,
                params=params or None,
            )
        context = {
            "period": period,
            "period_problems": problems,
            "region": region,
            "regions": regions,
            "report": report,
            **stagnation_charts(report),
        }
        return portal.render(request, "teamno/stagnations.html", context, session=session)

    return routes
