"""The SWV coordinator's overview: lead times, deadlines, caseloads, evaluations, lost messages.

Filters narrow the caseloads, deadlines and evaluations to a worker, school, municipality
(of the school, per the directory), work unit or period; each table downloads as CSV with
the same rows as on screen (``steering``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata, labels, steering, undelivered
from passend_portal.charts import bar_chart
from passend_portal.session import Session
from passend_portal.steering import Filters
from passend_portal.web import Portal

ROLES = ("coordinator", "education_specialist")


def lead_time_bars(lead: dict[str, Any]) -> list[tuple[str, float]]:
    """W26: hours from submission to claim and to first contact, average and median."""
    names = {
        "claim_avg_hours": "Tot oppakken, gemiddeld",
        "claim_median_hours": "Tot oppakken, mediaan",
        "contact_avg_hours": "Tot eerste contact, gemiddeld",
        "contact_median_hours": "Tot eerste contact, mediaan",
    }
    return [(label, float(lead[key])) for key, label in names.items() if lead.get(key) is not None]


@dataclass
class Figures:
    """What the overview shows, before and after the filters."""

    lead: dict[str, Any]
    phases: dict[str, Any] | None  # trajectory's days per phase; None when it is away
    all_loads: list[dict[str, Any]]
    all_deadlines: list[dict[str, Any]]
    loads: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]
    places: dict[str, str]  # each school's municipality (CBS code), from the directory


def no_phases() -> dict[str, Any]:
    """The figures per phase when no school passes the filters: none, in every phase."""
    return {
        "trajectories": 0,
        "phases": [
            {"phase": p, "cases": 0, "avg_days": None, "median_days": None} for p in labels.PHASES
        ],
    }


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    async def figures(session: Session, filters: Filters) -> Figures:
        token = session.token
        params = {"work_unit_id": session.work_unit_id} if session.work_unit_id else None
        places = await portal.names.school_municipalities(session)
        schools = filters.schools(places)
        narrowed: dict[str, str | list[str]] = {
            key: value
            for key, value in (
                ("worker_id", filters.worker),
                ("since", filters.since.isoformat() if filters.since else ""),
                ("until", filters.until.isoformat() if filters.until else ""),
            )
            if value
        }
        if schools:
            narrowed["school_id"] = schools  # repeated: the schools of a municipality

        async def per_phase() -> dict[str, Any] | None:
            if schools == []:
                return no_phases()  # no school passes: nothing to ask
            answer: dict[str, Any] | None = await casedata.optional(
                services.get("trajectory", "/lead-times", token=token, params=narrowed or None)
            )
            return answer

        lead, loads, deadlines, phases = await asyncio.gather(
            services.get("assignment", "/lead-times", token=token),
            services.get("assignment", "/caseloads", token=token, params=params),
            services.get("assignment", "/deadlines", token=token),
            per_phase(),
        )
        chosen = filters.caseloads(loads)

        async def due(worker_id: str) -> list[dict[str, Any]]:
            answer = await casedata.optional(
                services.get("trajectory", f"/workers/{worker_id}/evaluations-due", token=token)
            )
            return [{**e, "worker_id": worker_id} for e in (answer or {}).get("evaluations", [])]

        evaluations = [
            e for per in await asyncio.gather(*(due(w["worker_id"]) for w in chosen)) for e in per
        ]
        unit_of = {str(w["worker_id"]): w.get("work_unit_id") for w in loads}
        return Figures(
            lead=lead,
            phases=phases,
            all_loads=loads,
            all_deadlines=deadlines,
            loads=chosen,
            deadlines=filters.deadlines(deadlines, places),
            evaluations=sorted(
                filters.evaluations(evaluations, unit_of, places),
                key=lambda e: str(e.get("due_on")),
            ),
            places=places,
        )

    @routes.get("/overzicht")
    async def overview(request: Request) -> HTMLResponse:
        session = portal.session_of_role(request, *ROLES)
        filters, problems = Filters.of(request.query_params)
        shown = await figures(session, filters)
        if filters.municipality and not shown.places:
            problems.append(
                "De gemeenten van de scholen zijn nu niet bekend (de lijst van het "
                "samenwerkingsverband is niet bereikbaar); het filter op gemeente toont "
                "daarom niets. Probeer het over een paar minuten opnieuw."
            )
        # W10, R: messages that did not reach their recipient (no addresses, only who by
        # role, which message and why); the page shows the rest when notifications is away.
        parked = await casedata.optional(
            services.get("notifications", "/messages/undeliverable", token=session.token)
        )
        # The chart's labels are written here, not in the template: names, never ids.
        worker_names = await portal.names.people(session, [w["worker_id"] for w in shown.all_loads])
        choices = {
            "workers": sorted(
                (worker_names[w["worker_id"]], w["worker_id"]) for w in shown.all_loads
            ),
            # Every school of the directory, and any a deadline names that it no longer has.
            "schools": sorted(
                set(shown.places)
                | {d["school_id"] for d in shown.all_deadlines if d.get("school_id")}
            ),
            "municipalities": steering.municipality_choices(shown.places, filters.municipality),
            "units": sorted({w["work_unit_id"] for w in shown.all_loads if w.get("work_unit_id")}),
        }
        context = {
            "lead": shown.lead,
            "phases": shown.phases,
            "lead_chart": bar_chart(
                "Doorlooptijden in uren", lead_time_bars(shown.lead), unit="uur"
            ),
            "loads": shown.loads,
            "load_chart": bar_chart(
                "Open casussen per onderwijsondersteuner",
                [(worker_names[w["worker_id"]], float(w["open_cases"])) for w in shown.loads],
                unit="casussen",
                unit_one="casus",
            ),
            "over_capacity": steering.over_capacity(shown.loads),
            "deadlines": shown.deadlines,
            "missed": [d for d in shown.deadlines if steering.is_missed(d)],
            "evaluations": shown.evaluations,
            "undelivered": undelivered.listed(parked or []),
            "undelivered_known": parked is not None,
            "filters": filters,
            "filter_problems": problems,
            "choices": choices,
            "export_query": filters.query(),
        }
        return portal.render(request, "coordinator/overview.html", context, session=session)

    @routes.get("/overzicht/{table}.csv")
    async def export(request: Request, table: str) -> Response:
        """One of the overview's tables as CSV, with the filters on screen, names not ids."""
        session = portal.session_of_role(request, *ROLES)
        if table not in ("caseload", "termijnen", "evaluaties", "doorlooptijden"):
            raise HTTPException(404)
        filters, _ = Filters.of(request.query_params)
        shown = await figures(session, filters)
        people = [w["worker_id"] for w in shown.loads]
        people += [d.get("responsible_worker_id") or "" for d in shown.deadlines]
        names = await portal.names.lookup(session, people)
        if table == "caseload":
            rows = steering.caseload_rows(shown.loads, names.person, names.unit)
        elif table == "termijnen":
            rows = steering.deadline_rows(shown.deadlines, names.person, names.school)
        elif table == "doorlooptijden":
            rows = steering.phase_rows(shown.phases)
        else:
            rows = steering.evaluation_rows(shown.evaluations, names.person)
        return Response(
            steering.as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="overzicht-{table}.csv"'},
        )

    return routes
