"""Commands of the partners around the support (C, W16): the pupil's group, the teacher's
measures and reflections, and inviting an adviser.

Every route takes an optional ``Idempotency-Key``: a retry with the same key and body
answers as the first time did, even after the case moved on, and appends nothing.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.commands import IdempotencyHeader
from passend_backbone.service import ServiceContext
from passend_trajectory.api import PARTNERS, WORKERS, require
from passend_trajectory.api_runner import Answer, Check, Runner
from passend_trajectory.domain import advisers, classroom
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.people import teacher_of


def partners_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix="/cases/{case_id}", tags=["trajectory: partners (C)"])
    run = Runner.on(ctx)

    async def own_group(principal: Principal) -> Check:
        """C, W16: the caller teaches the pupil's group, as the directory says (403/409)."""
        teacher = await teacher_of(ctx.pool, principal.swv, principal.subject)

        def check(state: TrajectoryState) -> None:
            refused = classroom.teaches_the_pupil(state, teacher)
            if refused is not None:
                raise refused

        return check

    @router.post("/group")
    async def note_group(
        case_id: UUID,
        body: classroom.NotePupilGroup,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """C: note the pupil's group (e.g. in a new school year); its teachers take over."""
        require(principal, Role.IB, *WORKERS, what="note the pupil's group")
        return await run(request, principal, case_id, "group", body, key)

    @router.post("/measures")
    async def record_measure(
        case_id: UUID,
        body: classroom.RecordMeasure,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """C, W16: a teacher of the pupil's group records a measure tried in the class."""
        require(principal, Role.TEACHER, what="record a measure tried")
        check = await own_group(principal)
        return await run(request, principal, case_id, "measure", body, key, check)

    @router.post("/reflections")
    async def record_reflection(
        case_id: UUID,
        body: classroom.RecordReflection,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """C: a teacher of the pupil's group records the reflection held with the support
        worker on measures tried, and what to adjust."""
        require(principal, Role.TEACHER, what="record a reflection")
        check = await own_group(principal)
        return await run(request, principal, case_id, "reflection", body, key, check)

    @router.post("/invitations")
    async def invite_adviser(
        case_id: UUID,
        body: advisers.InviteAdviser,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """C: any partner in the case invites a named adviser to a meeting, with its goal."""
        require(principal, *PARTNERS, what="invite an adviser")
        return await run(request, principal, case_id, "invitation", body, key)

    return router
