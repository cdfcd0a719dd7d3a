"""Commands on outcomes: evaluation, closing, OPP, case director and Team NO.

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
from passend_trajectory.api_runner import Answer, Runner, own_region
from passend_trajectory.domain import care_level, case_director, evaluation, team_no
from passend_trajectory.team_no_regions import routed, routed_evaluation


def outcomes_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix="/cases/{case_id}", tags=["trajectory: outcomes"])
    run = Runner.on(ctx)

    @router.post("/evaluations")
    async def record_evaluation(
        case_id: UUID,
        body: evaluation.RecordEvaluation,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W21, S, TNO: record an evaluation and its outcome; one that escalates goes to the
        Team NO region the SWV configured for the pupil's municipality (a CBS code)."""
        require(principal, *WORKERS, what="record an evaluation")
        body = await routed_evaluation(ctx.pool, principal.swv, body)
        return await run(request, principal, case_id, "evaluation", body, key)

    @router.post("/close")
    async def close(
        case_id: UUID,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """W21: close the trajectory after its final evaluation."""
        require(principal, *WORKERS, what="close a trajectory")
        command = evaluation.CloseTrajectory()
        return await run(request, principal, case_id, "close", command, key)

    @router.post("/opp")
    async def record_opp(
        case_id: UUID,
        body: care_level.RecordOpp,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """S: the school's OPP is on record."""
        require(principal, *WORKERS, Role.IB, what="record an OPP")
        return await run(request, principal, case_id, "opp", body, key)

    @router.post("/opp/evaluations")
    async def record_opp_evaluation(
        case_id: UUID,
        body: care_level.RecordOppEvaluation,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """S: the OPP was evaluated (twice a school year)."""
        require(principal, *WORKERS, Role.IB, what="record an OPP evaluation")
        return await run(request, principal, case_id, "opp-evaluation", body, key)

    @router.post("/youth-care")
    async def note_youth_care(
        case_id: UUID,
        body: case_director.NoteYouthCare,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """R: youth care is needed; the wijkteam worker directs the case."""
        require(principal, *WORKERS, what="note youth care")
        return await run(request, principal, case_id, "youth-care", body, key)

    @router.post("/case-director")
    async def set_case_director(
        case_id: UUID,
        body: case_director.SetCaseDirector,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """R: set the case director explicitly, with the reason."""
        require(principal, *WORKERS, Role.COORDINATOR, what="set the case director")
        return await run(request, principal, case_id, "case-director", body, key)

    @router.post("/escalations")
    async def escalate(
        case_id: UUID,
        body: team_no.Escalate,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """TNO: the route stagnates; escalate to the Team NO of the pupil's municipality (a CBS
        code of a municipality that exists, 422 naming the list otherwise): the region the
        SWV configured for it in the directory (422 when none covers it)."""
        require(principal, *WORKERS, what="escalate to Team NO")
        body = await routed(ctx.pool, principal.swv, body)
        return await run(request, principal, case_id, "escalate", body, key)

    @router.post("/team-no-decision")
    async def record_team_no_decision(
        case_id: UUID,
        body: team_no.RecordTeamNODecision,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Answer:
        """TNO: a member of the region's Team NO records its decision, the assignment and
        the provider."""
        require(principal, Role.TEAM_NO_MEMBER, what="record a Team NO decision")
        check = own_region(principal)
        return await run(request, principal, case_id, "team-no", body, key, check)

    return router
