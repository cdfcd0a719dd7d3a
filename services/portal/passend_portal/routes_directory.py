"""The directory's people on screen (issue 24): a work unit's coordinator keeps the support
workers of their own unit, the SWV's administrator everyone; register, deactivate, and
hand over the open cases of someone who leaves (W25)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata
from passend_portal import directory_people as people_doc
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem, explain
from passend_portal.personas import ROLE_LABELS
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

KEEPERS = ("coordinator", "swv_admin")


def in_scope(session: Session, person: dict[str, Any]) -> bool:
    """Whether the signed-in keeper may change ``person``: the administrator everyone, a
    coordinator the support workers of their own unit (docs/directory.md)."""
    if session.role == "swv_admin":
        return True
    roles = set(person.get("roles") or [])
    return (
        person.get("work_unit_id") == session.work_unit_id
        and bool(roles)
        and roles <= set(people_doc.UNIT_ROLES)
    )


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    async def current(session: Session) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        directory, people = await asyncio.gather(
            services.get("assignment", "/directory", token=session.token),
            services.get("assignment", "/directory/people", token=session.token),
        )
        return directory, list(people)

    def places(directory: dict[str, Any]) -> dict[str, Any]:
        """Names of the work units and schools, and the expertise areas, for the pages."""
        return {
            "units": {u["work_unit_id"]: u["name"] for u in directory.get("work_units") or []},
            "schools": {s["school_id"]: s["name"] for s in directory.get("schools") or []},
            "areas": [
                (a["area_id"], a["label"])
                for a in (directory.get("settings") or {}).get("expertise_areas") or []
            ],
            "ROLE_LABELS": ROLE_LABELS,
        }

    async def put(session: Session, doc: dict[str, Any], key: str) -> Any:
        headers = {"Idempotency-Key": key} if key else None
        return await services.call(
            "PUT", "assignment", "/directory", token=session.token, json=doc, headers=headers
        )

    @routes.get("/mensen")
    async def people(request: Request, klaar: str = "", wie: str = "") -> HTMLResponse:
        """Everyone the keeper looks after, by name, with roles and where they work."""
        session = portal.session_of_role(request, *KEEPERS)
        directory, everyone = await current(session)
        shown = [
            p
            for p in everyone
            if session.role == "swv_admin" or p.get("work_unit_id") == session.work_unit_id
        ]
        shown.sort(key=lambda p: (not p.get("active", True), str(p["display_name"]).casefold()))
        named = next((p["display_name"] for p in everyone if p["person_id"] == wie), None)
        context: dict[str, Any] = {
            **places(directory),
            "people": [{**p, "changeable": in_scope(session, p)} for p in shown],
            "done": klaar if named else "",
            "done_name": named,
            "unit_name": (places(directory)["units"]).get(session.work_unit_id or ""),
        }
        return portal.render(request, "directory/people.html", context, session=session)

    async def new_form(
        request: Request,
        session: Session,
        directory: dict[str, Any],
        problem: Problem | None = None,
        values: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        roles = people_doc.UNIT_ROLES if session.role == "coordinator" else people_doc.ROLES
        context: dict[str, Any] = {
            **places(directory),
            "roles": [(r, ROLE_LABELS.get(r, r)) for r in roles],
            "coordinator": session.role == "coordinator",
            "problem": problem or Problem(),
            "values": values or {},
        }
        status = 422 if problem else 200
        return portal.render(
            request, "directory/new_person.html", context, status=status, session=session
        )

    @routes.get("/mensen/nieuw")
    async def register_form(request: Request) -> HTMLResponse:
        session = portal.session_of_role(request, *KEEPERS)
        directory = await services.get("assignment", "/directory", token=session.token)
        return await new_form(request, session, directory)

    @routes.post("/mensen/nieuw")
    async def register(request: Request) -> Response:
        """Register a person: the directory as it stands, with them added (issue 24)."""
        session = portal.session_of_role(request, *KEEPERS)
        form = await Form.of(request)
        fields = form.scoped("persoon")
        directory, everyone = await current(session)
        unit = session.work_unit_id if session.role == "coordinator" else None
        person, worker = people_doc.new_person(fields, unit=unit)
        missing = people_doc.check_new(person, everyone)
        if missing:
            problem = Problem(
                general="Niet alle gegevens zijn goed ingevuld; zie de velden hieronder.",
                fields={f"persoon.{k}": v for k, v in missing.items()},
            )
            return await new_form(request, session, directory, problem, form.values())
        doc = people_doc.with_person(people_doc.document(directory, everyone), person, worker)
        try:
            await put(session, doc, fields.get("key"))
        except (ServiceError, ServiceDown) as exc:
            problem = people_doc.problem_of(exc, "persoon")
            return await new_form(request, session, directory, problem, form.values())
        return redirect(f"/mensen?klaar=ingeschreven&wie={quote(person['person_id'])}")

    async def leave_page(
        request: Request,
        session: Session,
        person_id: str,
        *,
        problem: Problem | None = None,
        cases: list[str] | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        directory, everyone = await current(session)
        person = next((p for p in everyone if p["person_id"] == person_id), None)
        if person is None:
            unknown = {"message": "Deze persoon staat niet in het personeelsoverzicht van het SWV."}
            return portal.render(request, "error.html", unknown, status=404, session=session)
        # W25: who may take the open cases over: the active support workers who stay (of
        # the coordinator's own unit).
        takers = [
            (p["person_id"], p["display_name"])
            for p in everyone
            if p.get("active", True)
            and p["person_id"] != person_id
            and "support_worker" in (p.get("roles") or [])
            and (session.role == "swv_admin" or p.get("work_unit_id") == session.work_unit_id)
        ]
        pupils = await asyncio.gather(
            *(
                casedata.optional(services.get("intake", f"/requests/{c}", token=session.token))
                for c in cases or []
            )
        )
        open_cases = [
            {
                "case_id": c,
                "pupil": ((r or {}).get("pupil") or {}).get("name"),
                "school": places(directory)["schools"].get((r or {}).get("school_id") or ""),
            }
            for c, r in zip(cases or [], pupils, strict=True)
        ]
        context: dict[str, Any] = {
            **places(directory),
            "person": person,
            "changeable": in_scope(session, person),
            "open_cases": open_cases,
            "takers": takers,
            "problem": problem or Problem(),
            "values": values or {},
        }
        return portal.render(
            request, "directory/leave.html", context, status=status, session=session
        )

    @routes.get("/mensen/{person_id}/uitschrijven")
    async def leave_form(request: Request, person_id: str) -> HTMLResponse:
        session = portal.session_of_role(request, *KEEPERS)
        return await leave_page(request, session, person_id)

    @routes.post("/mensen/{person_id}/uitschrijven")
    async def leave(request: Request, person_id: str) -> Response:
        """Deactivate a person: the directory without them. W25: while they hold open
        cases the directory refuses, naming the cases; the page then asks who takes over
        each, and sends the document again with the hand-overs."""
        session = portal.session_of_role(request, *KEEPERS)
        form = await Form.of(request)
        fields = form.scoped("uitschrijven")
        hand_over = {
            name[len("overdracht.") :]: value[0].strip()
            for name, value in fields.data.items()
            if name.startswith("overdracht.") and value and value[0].strip()
        }
        directory, everyone = await current(session)
        doc = people_doc.without_person(
            people_doc.document(directory, everyone),
            person_id,
            fields.get("reason"),
            hand_over,
        )
        try:
            await put(session, doc, fields.get("key"))
        except ServiceError as exc:
            cases = people_doc.open_cases(exc)
            if cases is not None:
                name = next(
                    (p["display_name"] for p in everyone if p["person_id"] == person_id),
                    person_id,
                )
                some = "een open casus" if len(cases) == 1 else f"{len(cases)} open casussen"
                problem = Problem(
                    general=f"{name} kan nog niet worden uitgeschreven: {name} is nog "
                    f"verantwoordelijk voor {some}. Draag {'die' if len(cases) == 1 else 'ze'} "
                    "eerst over aan een collega (W25).",
                    technical=explain(exc).technical,
                )
                return await leave_page(
                    request,
                    session,
                    person_id,
                    problem=problem,
                    cases=cases,
                    values=form.values(),
                    status=409,
                )
            problem = people_doc.problem_of(exc)
            status = exc.status if exc.status in (403, 409, 422) else 400
            return await leave_page(
                request, session, person_id, problem=problem, values=form.values(), status=status
            )
        except ServiceDown as exc:
            problem = people_doc.problem_of(exc)
            return await leave_page(request, session, person_id, problem=problem, status=503)
        return redirect(f"/mensen?klaar=uitgeschreven&wie={quote(person_id)}")

    return routes
