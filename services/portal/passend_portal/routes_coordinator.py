"""The SWV coordinator's overview: lead times, deadlines, caseloads, evaluations, lost messages."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from passend_portal import casedata, undelivered
from passend_portal.charts import bar_chart
from passend_portal.web import Portal


def lead_time_bars(lead: dict[str, Any]) -> list[tuple[str, float]]:
    """W26: hours from submission to claim and to first contact, average and median."""
    names = {
        "claim_avg_hours": "Tot oppakken, gemiddeld",
        "claim_median_hours": "Tot oppakken, mediaan",
        "contact_avg_hours": "Tot eerste contact, gemiddeld",
        "contact_median_hours": "Tot eerste contact, mediaan",
    }
    return [(label, float(lead[key])) for key, label in names.items() if lead.get(key) is not None]


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    @routes.get("/overzicht")
    async def overview(request: Request) -> HTMLResponse:
        session = portal.session_of_role(request, "coordinator", "education_specialist")
        token = session.token
        params = {"work_unit_id": session.work_unit_id} if session.work_unit_id else None
        lead, loads, deadlines = await asyncio.gather(
            services.get("assignment", "/lead-times", token=token),
            services.get("assignment", "/caseloads", token=token, params=params),
            services.get("assignment", "/deadlines", token=token),
        )

        async def due(worker_id: str) -> list[dict[str, Any]]:
            answer = await casedata.optional(
                services.get("trajectory", f"/workers/{worker_id}/evaluations-due", token=token)
            )
            return [{**e, "worker_id": worker_id} for e in (answer or {}).get("evaluations", [])]

        evaluations = [
            e for per in await asyncio.gather(*(due(w["worker_id"]) for w in loads)) for e in per
        ]
        # W10, R: messages that did not reach their recipient (no addresses, only who by
        # role, which message and why); the page shows the rest when notifications is away.
        parked = await casedata.optional(
            services.get("notifications", "/messages/undeliverable", token=token)
        )
        missed = [
            d
            for d in deadlines
            if d.get("deadline_missed") or (d.get("time_left") or {}).get("lapsed")
        ]
        # The chart's labels are written here, not in the template: names, never ids.
        worker_names = await portal.names.people(session, [w["worker_id"] for w in loads])
        context = {
            "lead": lead,
            "lead_chart": bar_chart("Doorlooptijden in uren", lead_time_bars(lead), unit="uur"),
            "loads": loads,
            "load_chart": bar_chart(
                "Open casussen per onderwijsondersteuner",
                [(worker_names[w["worker_id"]], float(w["open_cases"])) for w in loads],
                unit="casussen",
                unit_one="casus",
            ),
            "deadlines": deadlines,
            "missed": missed,
            "evaluations": sorted(evaluations, key=lambda e: str(e.get("due_on"))),
            "undelivered": undelivered.listed(parked or []),
            "undelivered_known": parked is not None,
        }
        return portal.render(request, "coordinator/overview.html", context, session=session)

    return routes
