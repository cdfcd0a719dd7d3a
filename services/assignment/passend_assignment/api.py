"""The HTTP API: commands on cases (claim, offer, first contact, route coach) and the app."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from passend_assignment import idempotency
from passend_assignment.access import require, require_sees
from passend_assignment.api_directory import directory_router
from passend_assignment.api_views import views_router
from passend_assignment.domain.case import CaseState, evolve
from passend_assignment.domain.coaching import Side, call_route_coach
from passend_assignment.domain.contact import record_first_contact
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.errors import Refusal, Refused
from passend_assignment.domain.routing import claim, offer
from passend_assignment.handlers import Command, Decide, run_case_command
from passend_assignment.schemas import CaseOut, FirstContactIn, OfferIn, RouteCoachIn
from passend_backbone.audit.router import audit_router
from passend_backbone.audit.state import fold_with
from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.service import ServiceContext
from passend_contracts.events.base import EventPayload

_STATUS = {Refusal.NOT_FOUND: 404, Refusal.CONFLICT: 409, Refusal.FORBIDDEN: 403}
IdempotencyHeader = Annotated[str | None, Header(alias=idempotency.HEADER)]


def _answer(case: CaseState, events: list[EventPayload]) -> dict[str, Any]:
    return {
        "case": CaseOut.of(case).model_dump(mode="json"),
        "events": [e.event_type for e in events],
    }


def cases_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["cases"])

    async def run(
        request: Request,
        principal: Principal,
        case_id: UUID,
        what: str,
        key: str | None,
        body: Any,
        decide: Decide,
    ) -> dict[str, Any]:
        command = Command(
            case_id=case_id,
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=getattr(request.state, "correlation_id", None) or str(uuid4()),
            causation_id=f"{what}:{uuid4()}",
            key=idempotency.key_for(principal.swv, principal.subject, key, [what, case_id, body]),
        )
        return await run_case_command(
            ctx.pool,
            ctx.store,
            command,
            decide,
            _answer,
            ctx.clock(),
            check=lambda case, records: require_sees(principal, case, records),
        )

    @router.post("/cases/{case_id}/claim")
    async def claim_case(
        case_id: UUID, request: Request, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> dict[str, Any]:
        """W25: claim the case; a second claim gets 409 naming who claimed it first."""
        require(principal, Role.SUPPORT_WORKER)
        now = ctx.clock()

        def decide(case: CaseState, _: DirectoryState) -> list[EventPayload]:
            return claim(case, principal.subject, principal.work_unit_id, now)

        return await run(request, principal, case_id, "claim", key, None, decide)

    @router.post("/cases/{case_id}/offer")
    async def offer_case(
        case_id: UUID,
        body: OfferIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> dict[str, Any]:
        """W24, W25: offer the case to the work unit's queue; the receiver stays responsible."""
        require(principal, Role.SUPPORT_WORKER)
        now = ctx.clock()

        def decide(case: CaseState, _: DirectoryState) -> list[EventPayload]:
            unit = body.work_unit_id or case.work_unit_id or principal.work_unit_id
            return offer(case, principal.subject, unit, body.need_areas, now)

        return await run(request, principal, case_id, "offer", key, body.model_dump(), decide)

    @router.post("/cases/{case_id}/first-contact")
    async def first_contact(
        case_id: UUID,
        body: FirstContactIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> dict[str, Any]:
        """W26: record that the IB was contacted; the deadline's clock stops."""
        require(principal, Role.SUPPORT_WORKER)
        now = ctx.clock()

        def decide(case: CaseState, _: DirectoryState) -> list[EventPayload]:
            return record_first_contact(case, principal.subject, body.contacted_at, now)

        dumped = body.model_dump(mode="json")
        return await run(request, principal, case_id, "first-contact", key, dumped, decide)

    @router.post("/cases/{case_id}/route-coach")
    async def route_coach(
        case_id: UUID,
        body: RouteCoachIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> dict[str, Any]:
        """W29: the IB (school side) or the support worker calls in the route coach."""
        require(principal, Role.IB, Role.SUPPORT_WORKER)
        side = Side.SCHOOL if principal.role is Role.IB else Side.SUPPORT
        now = ctx.clock()

        def decide(case: CaseState, directory: DirectoryState) -> list[EventPayload]:
            coach = directory.settings.route_coach_id if directory.settings else None
            return call_route_coach(
                case, principal.subject, side, principal.school_id, body.reason, coach, now
            )

        dumped = body.model_dump()
        return await run(request, principal, case_id, "route-coach", key, dumped, decide)

    return router


def create_app(ctx: ServiceContext) -> FastAPI:
    """The assignment service's FastAPI app."""
    app = FastAPI(
        title="Passend assignment",
        description="Routing, claims, the first-contact deadline and the directory (W24-W29).",
    )

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(
            {"detail": {"rule": exc.rule, "message": exc.message}}, status_code=_STATUS[exc.kind]
        )

    @app.exception_handler(idempotency.KeyReused)
    async def key_reused(_: Request, exc: idempotency.KeyReused) -> JSONResponse:
        return JSONResponse(
            {"detail": {"rule": "idempotency", "message": str(exc)}}, status_code=422
        )

    app.include_router(cases_router(ctx))
    app.include_router(views_router(ctx))
    # Auditors replay the case from this service's own log (issue 7).
    app.include_router(audit_router(ctx, state_as_of=fold_with(evolve, None)))
    app.include_router(directory_router(ctx))
    return app
