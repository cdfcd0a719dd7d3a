"""The HTTP API: commands on cases (claim, offer, first contact, route coach) and the app.

Every command of a support worker first checks their standing in the SWV's directory as
it is in the command's own transaction (issue 24, W24): a worker who is not listed, was
deactivated or signed in for another work unit is refused, whatever case they name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from passend_assignment.access import CASE_READERS, require, require_sees
from passend_assignment.api_directory import directory_router
from passend_assignment.api_people import people_router
from passend_assignment.api_views import views_router
from passend_assignment.domain.case import CaseState, evolve
from passend_assignment.domain.case_commands import (
    CallRouteCoach,
    CaseCommand,
    Claim,
    Offer,
    RecordFirstContact,
)
from passend_assignment.domain.coaching import Side
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.standing import require_standing
from passend_assignment.handlers import Gate, Prepare, command_meta, on_case
from passend_assignment.reactors import DirectoryMemory
from passend_assignment.responsibility import hold_worker
from passend_assignment.schemas import FirstContactIn, OfferIn, RouteCoachIn
from passend_assignment.streams import load_case
from passend_backbone import tenancy
from passend_backbone.audit.integrity import integrity_router
from passend_backbone.audit.router import audit_router
from passend_backbone.audit.state import fold_with
from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.commands import IdempotencyHeader, IdempotencyKey
from passend_backbone.correlation import correlation_id_of
from passend_backbone.service import ServiceContext


def cases_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["cases"])
    directories = DirectoryMemory()

    def standing(principal: Principal, seen: list[DirectoryState], *, claims: bool) -> Gate:
        """W24: the support worker's standing in the directory in the command's transaction.

        A claim holds the worker (see :func:`hold_worker`) before reading, so a directory
        change removing them either waits for the claim or is seen by it. ``seen`` gets the
        directory, for a command that needs more of it.
        """

        async def gate(tx: Any) -> None:
            if claims:
                await hold_worker(tx, principal.swv, principal.subject)
            directory = await directories.directory(ctx.store, principal.swv, tx)
            require_standing(directory, principal.subject, principal.work_unit_id)
            seen.append(directory)

        return gate

    async def run(
        request: Request,
        principal: Principal,
        case_id: UUID,
        what: str,
        header: str | None,
        body: Any,
        command: CaseCommand | None = None,
        prepare: Prepare | None = None,
        gate: Gate | None = None,
    ) -> JSONResponse:
        """Run the command; an ``Idempotency-Key`` binds to this endpoint, case and body."""
        operation = f"POST /cases/{case_id}/{what}"
        answer = await on_case(
            ctx.commands,
            principal,
            case_id,
            command,
            prepare=prepare,
            gate=gate,
            meta=command_meta(principal, correlation_id_of(request.state), what),
            now=ctx.clock(),
            key=IdempotencyKey.of(principal.swv, principal.subject, header, operation, body),
        )
        return JSONResponse(answer.body, status_code=answer.status_code)

    @router.post("/cases/{case_id}/claim")
    async def claim_case(
        case_id: UUID, request: Request, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> JSONResponse:
        """W25: claim the case; a second claim gets 409 naming who claimed it first."""
        require(principal, Role.SUPPORT_WORKER)
        command = Claim(worker_id=principal.subject, worker_unit=principal.work_unit_id)
        gate = standing(principal, [], claims=True)
        return await run(request, principal, case_id, "claim", key, None, command, gate=gate)

    @router.post("/cases/{case_id}/offer")
    async def offer_case(
        case_id: UUID,
        body: OfferIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> JSONResponse:
        """W24, W25: offer the case to the work unit's queue; the receiver stays responsible."""
        require(principal, Role.SUPPORT_WORKER)
        command = Offer(
            by=principal.subject,
            work_unit_id=body.work_unit_id,
            own_unit=principal.work_unit_id,
            need_areas=tuple(body.need_areas),
        )
        dumped = body.model_dump(mode="json")
        gate = standing(principal, [], claims=False)
        return await run(request, principal, case_id, "offer", key, dumped, command, gate=gate)

    @router.post("/cases/{case_id}/first-contact")
    async def first_contact(
        case_id: UUID,
        body: FirstContactIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> JSONResponse:
        """W26: record that the IB was contacted; the deadline's clock stops."""
        require(principal, Role.SUPPORT_WORKER)
        command = RecordFirstContact(worker_id=principal.subject, contacted_at=body.contacted_at)
        dumped = body.model_dump(mode="json")
        gate = standing(principal, [], claims=False)
        return await run(
            request, principal, case_id, "first-contact", key, dumped, command, gate=gate
        )

    @router.post("/cases/{case_id}/route-coach")
    async def route_coach(
        case_id: UUID,
        body: RouteCoachIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> JSONResponse:
        """W29: the IB (school side) or the support worker calls in the route coach."""
        require(principal, Role.IB, Role.SUPPORT_WORKER)
        side = Side.SCHOOL if principal.role is Role.IB else Side.SUPPORT
        seen: list[DirectoryState] = []
        gate = standing(principal, seen, claims=False) if side is Side.SUPPORT else None

        async def with_coach(tx: Any, _: CaseState | None) -> CaseCommand:
            # The SWV's route coach as the directory says in this same transaction.
            # A support worker's gate read it just now; for an IB it is read here.
            directory = (
                seen[-1]
                if gate is not None
                else await directories.directory(ctx.store, principal.swv, tx)
            )
            settings = directory.settings
            return CallRouteCoach(
                caller_id=principal.subject,
                side=side,
                caller_school=principal.school_id,
                reason=body.reason,
                route_coach_id=settings.route_coach_id if settings else None,
            )

        dumped = body.model_dump(mode="json")
        return await run(
            request, principal, case_id, "route-coach", key, dumped, prepare=with_coach, gate=gate
        )

    return router


def _reads_case(ctx: ServiceContext) -> Callable[[Principal, UUID], Awaitable[None]]:
    """The check of reading a case here (``GET /cases/{case_id}``): a reader's role (403),
    the case in reach (404)."""

    async def check(principal: Principal, case_id: UUID) -> None:
        require(principal, *CASE_READERS)
        async with tenancy.tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            case, records = await load_case(ctx.store, case_id, principal.swv, conn)
        require_sees(principal, case_id, case, records)

    return check


def create_app(ctx: ServiceContext) -> FastAPI:
    """The assignment service's FastAPI app (refusals are answered by the backbone's handlers)."""
    app = FastAPI(
        title="Passend assignment",
        description="Routing, claims, the first-contact deadline and the directory (W24-W29).",
    )
    app.include_router(cases_router(ctx))
    app.include_router(views_router(ctx))
    # Auditors replay the case from this service's own log (issue 7).
    app.include_router(audit_router(ctx, state_as_of=fold_with(evolve, None)))
    # Every reader of the case gets its stream's hash-chain head (issue 21).
    app.include_router(integrity_router(ctx, check=_reads_case(ctx)))
    app.include_router(directory_router(ctx))
    app.include_router(people_router(ctx))
    return app
