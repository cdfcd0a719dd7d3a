"""The partners' screens (C, W16, seed 004): the teacher's pupils, measures and reflections,
the pupil's group, inviting an adviser, and the invitations an adviser received."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from passend_portal import casedata, partners
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem
from passend_portal.session import Session
from passend_portal.web import Form, Portal, redirect

# Form name -> (trajectory path under the case, roles, body builder, fields of the form).
Builder = Callable[[Form], dict[str, Any]]
FORMS: dict[str, tuple[str, tuple[str, ...], Builder, frozenset[str]]] = {
    "maatregel": ("measures", ("teacher",), partners.measure, partners.MEASURE_FIELDS),
    "reflectie": ("reflections", ("teacher",), partners.reflection, partners.REFLECTION_FIELDS),
    "uitnodiging": (
        "invitations",
        partners.PARTNER_ROLES,
        partners.invitation,
        partners.INVITATION_FIELDS,
    ),
    "groep": (
        "group",
        partners.GROUP_ROLES,
        lambda f: {"group": f.get("group")},
        partners.GROUP_FIELDS,
    ),
}


def worker_of(trajectory: dict[str, Any]) -> str | None:
    """The support worker whose trajectory it is (W25)."""
    worker = (trajectory.get("opened") or {}).get("worker_id")
    return worker if isinstance(worker, str) else None


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    async def names_of(session: Session, ids: list[str]) -> dict[str, str]:
        """Display names from the directory; an id it doesn't know stays as it is."""
        if not ids:
            return {}
        found = await casedata.optional(
            services.get(
                "assignment", "/directory/names", token=session.token, params={"ids": ",".join(ids)}
            )
        )
        return dict(found or {})

    async def page(
        request: Request,
        session: Session,
        case_id: str,
        problem: Problem | None = None,
        *,
        form: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        token = session.token
        trajectory, pupil, directory = await asyncio.gather(
            services.get("trajectory", f"/cases/{case_id}/trajectory", token=token),
            casedata.optional(services.get("intake", f"/requests/{case_id}", token=token)),
            casedata.optional(services.get("assignment", "/directory", token=token)),
        )
        advisers = partners.advisers(directory, session.subject)
        names = await names_of(session, partners.people_named(trajectory, advisers))
        wait = request.query_params.get("wacht", "")
        service, _, version = wait.partition(":")
        shown = int(trajectory.get("version", 0))
        if service != "trajectory" or not version.isdigit() or shown >= int(version):
            wait = ""
        # The trajectory dates "not ahead" by the UTC day of the command: default to that.
        today = datetime.now(UTC).date().isoformat()
        context = {
            "case_id": case_id,
            "t": trajectory,
            "pupil": pupil,
            "names": names,
            "advisers": [(a, names.get(a, a)) for a in advisers],
            "measure_names": partners.measures_by_id(trajectory),
            "OCCASIONS": partners.OCCASIONS,
            "may_record": session.role == "teacher",
            "may_invite": session.role in partners.PARTNER_ROLES,
            "may_group": session.role in partners.GROUP_ROLES,
            "problem": problem or Problem(),
            "problem_form": form,
            "values": values or {},
            "today": today,
            "wait": wait,
        }
        status = 422 if problem else 200
        return portal.render(request, "teacher/case.html", context, status=status, session=session)

    @routes.get("/klas")
    async def my_class(request: Request) -> HTMLResponse:
        """C, W16: the pupils of the teacher's own groups that have a trajectory."""
        session = portal.session_of_role(request, "teacher")
        token = session.token
        me, requests = await asyncio.gather(
            casedata.optional(
                services.get("assignment", f"/directory/people/{session.subject}", token=token)
            ),
            services.get("intake", f"/schools/{session.school_id}/requests", token=token),
        )
        groups = list((me or {}).get("groups") or [])
        candidates = [r for r in requests if r.get("status") in ("claimed", "in_trajectory")]
        trajectories = await asyncio.gather(
            *(
                casedata.optional(
                    services.get("trajectory", f"/cases/{r['case_id']}/trajectory", token=token)
                )
                for r in candidates
            )
        )
        mine = [
            (r, t)
            for r, t in zip(candidates, trajectories, strict=True)
            if partners.of_my_groups(t, groups)
        ]
        # W16: requests for the teacher's pupils (those naming her) before their trajectory
        # records a group: she reads along from the start. Once a group is recorded, the
        # group decides (another group's pupil is not hers).
        waiting = [r for r in requests if r.get("status") == "submitted"] + [
            r for r, t in zip(candidates, trajectories, strict=True) if not (t or {}).get("group")
        ]
        details = await asyncio.gather(
            *(
                casedata.optional(services.get("intake", f"/requests/{r['case_id']}", token=token))
                for r in [*(r for r, _ in mine), *waiting]
            )
        )
        asked = [
            {
                "case_id": r["case_id"],
                "name": ((d or {}).get("pupil") or {}).get("name") or r["pupil_ref"],
                "submitted_at": r.get("submitted_at"),
                "status": r.get("status"),
            }
            for r, d in zip(waiting, details[len(mine) :], strict=True)
        ]
        names = await names_of(session, [w for _, t in mine if (w := worker_of(t))])
        pupils = [
            {
                "case_id": r["case_id"],
                "name": ((d or {}).get("pupil") or {}).get("name") or r["pupil_ref"],
                "pupil_ref": r["pupil_ref"],
                "group": t.get("group"),
                "status": t.get("status"),
                "worker": names.get(worker, worker) if (worker := worker_of(t)) else None,
                "measures": len(t.get("measures") or []),
                "reflections": len(t.get("reflections") or []),
            }
            for (r, t), d in zip(mine, details[: len(mine)], strict=True)
        ]
        context = {"pupils": pupils, "groups": groups, "asked": asked}
        return portal.render(request, "teacher/home.html", context, session=session)

    @routes.get("/zaken/{case_id}/samenwerken")
    async def together(request: Request, case_id: str) -> HTMLResponse:
        """C: the pupil's group, the teacher's measures and reflections, the advisers invited."""
        session = portal.session_of_role(request, *partners.PARTNER_ROLES)
        return await page(request, session, case_id)

    @routes.get("/zaken/{case_id}/samenwerken/bijgewerkt")
    async def updated(request: Request, case_id: str, wacht: str = "") -> Response:
        """Polled by htmx: reload the page once the trajectory shows what was recorded."""
        session = portal.session_of_role(request, *partners.PARTNER_ROLES)
        if await casedata.caught_up(portal, session, case_id, wacht):
            target = f"/zaken/{case_id}/samenwerken"
            return Response(status_code=204, headers={"HX-Redirect": target})
        return Response(status_code=204)

    @routes.post("/zaken/{case_id}/samenwerken/{name}")
    async def record(request: Request, case_id: str, name: str) -> Response:
        """C, W16: a measure, a reflection, an invitation or the pupil's group, refused with
        its rule in Dutch next to the form."""
        if name not in FORMS:
            session = portal.session(request)
            return await page(request, session, case_id)
        path, roles, build, fields = FORMS[name]
        session = portal.session_of_role(request, *roles)
        form = await Form.of(request)
        scoped = form.scoped(name)
        try:
            answer = await services.post(
                "trajectory",
                f"/cases/{case_id}/{path}",
                token=session.token,
                json=build(scoped),
                idempotency_key=scoped.get("key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = partners.problem_of(exc, fields, name)
            return await page(request, session, case_id, problem, form=name, values=form.values())
        version = int((answer or {}).get("version", 0))
        return redirect(f"/zaken/{case_id}/samenwerken?wacht=trajectory:{version}")

    @routes.get("/uitnodigingen")
    async def invitations(request: Request) -> HTMLResponse:
        """C: the meetings the signed-in person was invited to as an adviser, with the goal;
        for a route coach also the cases called into (W29), each one a link."""
        session = portal.session(request)
        answer = await services.get("trajectory", "/invitations", token=session.token)
        found = list(answer.get("invitations", []))
        called_in = (
            casedata.optional(
                services.get(
                    "intake", "/requests", token=session.token, params={"called_in": "true"}
                )
            )
            if session.role == "route_coach"
            else _nothing()
        )
        cases, names, *requests = await asyncio.gather(
            called_in,
            names_of(session, sorted({i["invited_by"] for i in found})),
            *(
                casedata.optional(
                    services.get("intake", f"/requests/{i['case_id']}", token=session.token)
                )
                for i in found
            ),
        )
        pupils = [((r or {}).get("pupil") or {}).get("name") for r in requests]
        context = {
            "invitations": list(zip(found, pupils, strict=True)),
            "names": names,
            "OCCASIONS": partners.OCCASIONS,
            "partner": session.role in partners.PARTNER_ROLES,
            "route_coach": session.role == "route_coach",
            # None: intake did not answer (the page says so); else the cases called into.
            "cases": cases,
        }
        return portal.render(request, "teacher/invitations.html", context, session=session)

    return routes


async def _nothing() -> None:
    """What a role that is never called into a case gets instead of intake's list."""
