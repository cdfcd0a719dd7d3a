"""Commands before and during support: exploration, plan, gates, sessions, signals.

Every route takes an optional ``Idempotency-Key``: a retry with the same key and body
answers as the first time did, even after the case moved on, and appends nothing.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from passend_backbone.auth import CurrentPrincipal, Role
from passend_backbone.commands import IdempotencyHeader
from passend_backbone.service import ServiceContext
from passend_trajectory.api import WORKERS, require
from passend_trajectory.api_runner import Answer, Runner
from passend_trajectory.domain import exploration, gates, plan, support


def commands_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix="/cases/{case_id}", tags=["trajectory: plan and support"])
    run = Runner.on(ctx)

    @router.post("/start-conversation")
    async def start_conversation(
        case_id: UUID,
        body: exploration.RecordStartConversation,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W6, W7, W17: record the start conversation and the sharpened question."""
        require(principal, *WORKERS, what="record the start conversation")
        return await run(request, principal, case_id, "start-conversation", body, key)

    @router.post("/specialist-analysis")
    async def specialist_analysis(
        case_id: UUID,
        body: exploration.RecordSpecialistAnalysis,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W14: the education specialist records the analysis made with the school."""
        require(principal, Role.EDUCATION_SPECIALIST, what="record a specialist analysis")
        return await run(request, principal, case_id, "specialist-analysis", body, key)

    @router.post("/plans")
    async def record_plan(
        case_id: UUID,
        body: plan.RecordPlan,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W15-W17, W20: record the plan, or a revision of it (earlier ones are kept)."""
        require(principal, *WORKERS, what="record a plan")
        return await run(request, principal, case_id, "plan", body, key)

    @router.post("/support/start")
    async def start_support(
        case_id: UUID,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W15, W10, W14, TNO: start support; refused with the rule whose gate is closed."""
        require(principal, *WORKERS, what="start support")
        return await run(request, principal, case_id, "start-support", gates.StartSupport(), key)

    @router.post("/sessions")
    async def record_session(
        case_id: UUID,
        body: support.RecordSession,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W23, W10: the support worker's own record of a session (date and hours)."""
        require(principal, Role.SUPPORT_WORKER, what="record a session")
        return await run(request, principal, case_id, "session", body, key)

    @router.post("/signals")
    async def raise_signal(
        case_id: UUID,
        body: support.RaiseSignal,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W18, W19: signal teacher and/or IB about practice or the school's offer."""
        require(principal, *WORKERS, what="raise a signal")
        return await run(request, principal, case_id, "signal", body, key)

    @router.post("/signals/{signal_id}/acknowledgement")
    async def acknowledge_signal(
        case_id: UUID,
        signal_id: UUID,
        body: support.SignalResponse,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W19: the school's IB acknowledges a signal (a teacher reads only, issue 9)."""
        require(principal, Role.IB, what="acknowledge a signal")
        command = support.AcknowledgeSignal(signal_id=signal_id, response=body.response)
        return await run(request, principal, case_id, "acknowledge", command, key)

    return router
