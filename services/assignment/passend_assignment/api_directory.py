"""The HTTP API of the directory: read an SWV's directory, configure it with a document."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passend_assignment.directory_service import apply_directory
from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.directory_scope import WHOLE_SWV, Scope
from passend_assignment.streams import load_directory
from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.commands import IdempotencyHeader, IdempotencyKey, Refusal
from passend_backbone.correlation import correlation_id_of
from passend_backbone.eventstore import Metadata
from passend_backbone.http_errors import problem_responses
from passend_backbone.service import ServiceContext
from passend_contracts.municipalities import display_name


def directory_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["directory"])

    @router.get("/directory")
    async def get_directory(principal: CurrentPrincipal) -> dict[str, Any]:
        """The caller's SWV: settings (with its calendar policy, W26), work units, workers
        (expertise is public, W27), schools, school holidays and Team NO regions (TNO: the
        municipalities each covers, by CBS code and name, and its members). For someone of
        a school (its IB): the school's teachers, so a request can name the pupil's teacher
        (who then reads the case, W16)."""
        state, version = await load_directory(ctx.store, principal.swv)
        if state.settings is None:
            raise Refusal.not_found("tenant", f"directory of {principal.swv} not found")
        teachers = [
            {"person_id": p.person_id, "display_name": p.display_name}
            for p in sorted(state.people.values(), key=lambda p: p.display_name)
            if principal.school_id is not None
            and p.school_id == principal.school_id
            and "teacher" in p.roles
            and p.person_id not in state.departed
        ]
        return {
            "teachers": teachers,
            "version": version,
            "settings": state.settings.model_dump(mode="json"),
            "calendar": state.calendar.model_dump(mode="json"),
            "work_units": [u.model_dump(mode="json") for u in state.work_units.values()],
            "workers": [w.model_dump(mode="json") for w in state.workers.values()],
            "schools": [s.model_dump(mode="json") for s in state.schools.values()],
            "school_holidays": {
                region: [p.model_dump(mode="json") for p in h.periods]
                for region, h in state.holidays.items()
            },
            "team_no_regions": [
                {
                    **r.model_dump(mode="json"),
                    "municipality_names": {c: display_name(c) for c in r.municipalities},
                }
                for _, r in sorted(state.regions.items())
            ],
        }

    @router.put(
        "/directory",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def put_directory(
        doc: SwvDoc, request: Request, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> JSONResponse:
        """Configure the caller's SWV from a whole document; only changes become events.
        A retry with the same ``Idempotency-Key`` and document gets the first answer.

        The SWV's administrator (``swv_admin``) and the operator change the whole SWV; a
        work unit's coordinator only their own unit: its workers and its people, who may
        only get or lose the support worker role. Anything else in a coordinator's
        document is refused (403, rule ``directory``, naming it). W25: removing or
        deactivating a support worker who is still responsible for open cases is refused
        (409, naming the cases) unless ``hand_over`` names who takes each over; the answer
        then lists them in ``handed_over``.
        """
        scope = _scope_of(principal)
        if doc.swv_id != principal.swv:
            raise Refusal.forbidden("tenant", f"you configure {principal.swv}, not {doc.swv_id}")
        meta = Metadata(
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=correlation_id_of(request.state),
            causation_id=f"configure-directory:{uuid4()}",
        )
        body = doc.model_dump(mode="json")
        idempotency = IdempotencyKey.of(
            principal.swv, principal.subject, key, "PUT /directory", body
        )
        answer = await apply_directory(ctx.commands, doc, meta, ctx.clock(), idempotency, scope)
        return JSONResponse(answer.body, status_code=answer.status_code)

    return router


def _scope_of(principal: Principal) -> Scope:
    """What the caller may change (issue 24): 403 for a role that changes nothing."""
    if principal.role in (Role.SWV_ADMIN, Role.OPERATOR):
        return WHOLE_SWV
    if principal.role is Role.COORDINATOR:
        if not principal.work_unit_id:
            raise Refusal.forbidden("directory", "your sign-in names no work unit to coordinate")
        return Scope(principal.work_unit_id, principal.subject)
    raise Refusal.forbidden(
        "roles", "only the SWV's administrator, an operator or a coordinator configures it"
    )
