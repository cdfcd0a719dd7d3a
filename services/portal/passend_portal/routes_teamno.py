"""Team NO's pages: the region's agenda, recording a decision, the stagnation report (R)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata, commands, labels
from passend_portal.charts import bar_chart
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem, explain
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

OVERSIGHT = ("team_no_member", "education_specialist", "coordinator", "auditor")
REGIONS = ("waterweg",)


def region_of(session: Session, asked: str | None) -> str:
    """A Team NO member sees their own region; oversight roles pick one (R)."""
    if session.role == "team_no_member" and session.region:
        return session.region
    return asked or REGIONS[0]


def stagnation_charts(report: dict[str, Any]) -> dict[str, Any]:
    """R: the report's counts as bars, by reason and by municipality."""
    by_reason = [
        (labels.label(labels.STAGNATION_REASONS, reason), float(n))
        for reason, n in sorted(report.get("by_reason", {}).items())
    ]
    by_municipality = [
        (labels.label(labels.MUNICIPALITIES, code), float(n))
        for code, n in sorted(report.get("by_municipality", {}).items())
    ]
    return {
        "reason_chart": bar_chart("Stagnaties per reden", by_reason, unit="keer"),
        "municipality_chart": bar_chart(
            "Aanmeldingen per gemeente", by_municipality, unit="casussen"
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
        region = region_of(session, regio)
        answer = await services.get(
            "trajectory", f"/regions/{region}/team-no-agenda", token=session.token
        )
        context = {"region": region, "cases": answer.get("cases", [])}
        return portal.render(request, "teamno/agenda.html", context, session=session)

    async def case_view(
        request: Request, session: Session, case_id: str, problem: Problem, values: dict[str, Any]
    ) -> Response:
        wait = request.query_params.get("wacht", "")
        if wait and await casedata.caught_up(portal, session, case_id, wait):
            wait = ""
        trajectory = await services.get(
            "trajectory", f"/cases/{case_id}/trajectory", token=session.token
        )
        context = {
            "case_id": case_id,
            "trajectory": trajectory,
            "problem": problem,
            "values": values,
            "wait": wait,
            "wait_url": f"/team-no/zaken/{case_id}",
        }
        status = 422 if problem else 200
        return portal.render(request, "teamno/case.html", context, status=status, session=session)

    @routes.get("/team-no/zaken/{case_id}")
    async def case(request: Request, case_id: str) -> Response:
        session = portal.session_of_role(request, *OVERSIGHT)
        return await case_view(request, session, case_id, Problem(), {})

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

    @routes.get("/team-no/stagnatie")
    async def stagnations(request: Request, regio: str | None = None) -> HTMLResponse:
        """R: stagnations by reason and municipality, to learn from structurally."""
        session = portal.session_of_role(request, *OVERSIGHT)
        region = region_of(session, regio)
        report = await services.get(
            "trajectory", f"/regions/{region}/stagnations", token=session.token
        )
        context = {"region": region, "report": report, **stagnation_charts(report)}
        return portal.render(request, "teamno/stagnations.html", context, session=session)

    return routes
