"""One case as the services know it, gathered for a page; parts still on their way wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import documents, parents, story, undelivered
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.labels import AMSTERDAM
from passend_portal.messages import DONE_NL, Problem
from passend_portal.session import Session
from passend_portal.web import Portal, redirect

WORKER_ROLES = ("support_worker", "education_specialist", "coordinator")


async def optional(call: Awaitable[Any]) -> Any:
    """The answer, or None when the service refuses (not there yet, not visible, down)."""
    try:
        return await call
    except (ServiceError, ServiceDown):
        return None


@dataclass
class Part:
    """One service's view of the case, or why it is missing."""

    data: Any = None
    down: str | None = None


@dataclass
class CaseData:
    case_id: str
    request: Part = field(default_factory=Part)
    assignment: Part = field(default_factory=Part)
    trajectory: Part = field(default_factory=Part)

    @property
    def unavailable(self) -> list[str]:
        return [p.down for p in (self.request, self.assignment, self.trajectory) if p.down]

    @property
    def known(self) -> bool:
        return any(p.data is not None for p in (self.request, self.assignment, self.trajectory))


async def _part(call: Awaitable[Any]) -> Part:
    try:
        return Part(data=await call)
    except ServiceDown as exc:
        return Part(down=exc.message)
    except ServiceError:
        # 404 before the read model caught up, or not visible to this role: nothing to show.
        return Part()


async def gather(portal: Portal, session: Session, case_id: str) -> CaseData:
    services = portal.services
    request, assignment, trajectory = await asyncio.gather(
        _part(services.get("intake", f"/requests/{case_id}", token=session.token)),
        _part(services.get("assignment", f"/cases/{case_id}", token=session.token)),
        _part(services.get("trajectory", f"/cases/{case_id}/trajectory", token=session.token)),
    )
    return CaseData(case_id, request, assignment, trajectory)


def goals_of(trajectory: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The goals of the current plan revision (W21: each evaluation answers each of them)."""
    if not trajectory or not trajectory.get("plans"):
        return []
    current = trajectory.get("current_plan_revision")
    plans = trajectory["plans"]
    plan = next((p for p in plans if p.get("revision") == current), plans[-1])
    goals: list[dict[str, Any]] = plan.get("goals", [])
    return goals


WAITABLE = {"intake": "/requests/{case}", "trajectory": "/cases/{case}/trajectory"}


def seen_version(service: str, view: Any) -> int | None:
    """The case version a read answer shows, or None without an answer."""
    if view is None:
        return None
    if service == "intake":
        return max((int(h.get("version", 0)) for h in view.get("history", [])), default=0)
    return int(view.get("version", 0))


def shows(data: CaseData, wait: str) -> bool:
    """Whether ``data`` shows the case at ``service:version`` or later."""
    service, _, version = wait.partition(":")
    if service not in WAITABLE or not version.isdigit():
        return True
    part = data.request if service == "intake" else data.trajectory
    seen = seen_version(service, part.data)
    return seen is not None and seen >= int(version)


async def caught_up(portal: Portal, session: Session, case_id: str, wait: str) -> bool:
    """Whether ``service:version`` is visible: the read model shows the case at that version.

    Commands answer from the event store at once; reads follow the events moments later.
    """
    service, _, version = wait.partition(":")
    if service not in WAITABLE or not version.isdigit():
        return True
    path = WAITABLE[service].format(case=case_id)
    try:
        view = await portal.services.get(service, path, token=session.token)
    except (ServiceError, ServiceDown):
        return False
    seen = seen_version(service, view)
    return seen is not None and seen >= int(version)


async def case_page(
    portal: Portal,
    request: Request,
    session: Session,
    case_id: str,
    problem: Problem,
    *,
    values: dict[str, Any] | None = None,
    form: str | None = None,
) -> Response:
    """The case page of the signed-in role, with ``problem`` shown at form ``form``."""
    if session.role == "auditor":
        return redirect(f"/audit/zaken/{case_id}")
    if session.role == "team_no_member":
        return redirect(f"/team-no/zaken/{case_id}")
    fresh = request.query_params.get("nieuw") == "1"
    wait = request.query_params.get("wacht") or ("intake:0" if fresh else "")
    data = await gather(portal, session, case_id)
    # Judged on the answers this page shows, not on a second read that may differ: a page
    # still showing the old state keeps waiting, and the poll reloads it once caught up.
    if wait and shows(data, wait):
        wait = ""
    now = datetime.now(AMSTERDAM)
    today = now.date()
    done = request.query_params.get("gedaan", "")
    context: dict[str, Any] = {
        "done_message": None if problem else DONE_NL.get(done),
        "done_step": done if done in DONE_NL else "",
        "case": data,
        "case_id": case_id,
        "problem": problem,
        "problem_form": form,
        "values": values or {},
        "goals": goals_of(data.trajectory.data),
        "wait": wait,
        "today": today.isoformat(),
        "now_time": now.strftime("%H:%M:%S"),
        "in_weeks": lambda n: (today + timedelta(weeks=n)).isoformat(),
    }
    if not data.known and not data.unavailable and not wait:
        context["message"] = "Deze casus is niet gevonden, of u heeft er geen toegang toe."
        return portal.render(request, "error.html", context, status=404, session=session)
    # W22: every reader sees the case's documents intake shows them (a report not for all).
    context["documents"] = await documents.of_case(portal.services, session, case_id)
    # The school's page shows undelivered messages to parents to the IB only (the teacher
    # shares the template and sees none).
    context["undelivered"] = []
    if session.role == "ib":
        context["undelivered"] = await undelivered_to_parents(
            portal, session, case_id, parents.names_of(data.request.data)
        )
        context["attachment_refused"] = documents.after_submission(
            request.query_params.get("bijlage")
        )
    if session.role in ("ib", "teacher"):
        # Issue 19: the school sees the whole story, from the reads made (and logged) above.
        context["story"] = story.of(data.request.data, data.assignment.data, data.trajectory.data)
    template = "ib/case.html" if session.role in ("ib", "teacher") else "worker/case.html"
    status = 422 if problem else 200
    page: HTMLResponse = portal.render(request, template, context, status=status, session=session)
    return page


async def undelivered_to_parents(
    portal: Portal, session: Session, case_id: str, names: dict[str, str]
) -> list[undelivered.Undelivered]:
    """W10: the case's e-mails to parents that did not arrive, each parent by name (from
    intake's request the page read); none when notifications is away (the page says the
    rest without it)."""
    answer = await optional(
        portal.services.get("notifications", f"/cases/{case_id}/notifications", token=session.token)
    )
    return undelivered.to_parents(case_id, (answer or {}).get("messages", []), names)
