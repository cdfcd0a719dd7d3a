"""Commands on outcomes: evaluation, closing, OPP, case director and Team NO."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from passend_backbone.auth import CurrentPrincipal, Role
from passend_backbone.service import ServiceContext
from passend_trajectory.api import WORKERS, require
from passend_trajectory.api_runner import Answer, Key, Runner, own_region, with_body
from passend_trajectory.domain import (
    care_level,
    case_director,
    evaluation,
    team_no,
)


def outcomes_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix="/cases/{case_id}", tags=["trajectory: outcomes"])
    run = Runner(ctx)

    @router.post("/evaluations")
    async def record_evaluation(
        case_id: UUID,
        body: evaluation.RecordEvaluation,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """W21, S, R: record an evaluation and its outcome."""
        require(principal, *WORKERS, what="record an evaluation")
        decision = with_body(evaluation.record_evaluation, body)
        return await run(request, principal, case_id, "evaluation", key, body, decision)

    @router.post("/close")
    async def close(
        case_id: UUID, request: Request, principal: CurrentPrincipal, key: Key = None
    ) -> Answer:
        """W21: close the trajectory after its final evaluation."""
        require(principal, *WORKERS, what="close a trajectory")
        decision = evaluation.close_trajectory
        return await run(request, principal, case_id, "close", key, None, decision)

    @router.post("/opp")
    async def record_opp(
        case_id: UUID,
        body: care_level.RecordOpp,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """S: the school's OPP is on record."""
        require(principal, *WORKERS, Role.IB, what="record an OPP")
        decision = with_body(care_level.record_opp, body)
        return await run(request, principal, case_id, "opp", key, body, decision)

    @router.post("/opp/evaluations")
    async def record_opp_evaluation(
        case_id: UUID,
        body: care_level.RecordOppEvaluation,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """S: the OPP was evaluated (twice a school year)."""
        require(principal, *WORKERS, Role.IB, what="record an OPP evaluation")
        decision = with_body(care_level.record_opp_evaluation, body)
        return await run(request, principal, case_id, "opp-evaluation", key, body, decision)

    @router.post("/youth-care")
    async def note_youth_care(
        case_id: UUID,
        body: case_director.NoteYouthCare,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """R: youth care is needed; the wijkteam worker directs the case."""
        require(principal, *WORKERS, what="note youth care")
        decision = with_body(case_director.note_youth_care, body)
        return await run(request, principal, case_id, "youth-care", key, body, decision)

    @router.post("/case-director")
    async def set_case_director(
        case_id: UUID,
        body: case_director.SetCaseDirector,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """R: set the case director explicitly, with the reason."""
        require(principal, *WORKERS, Role.COORDINATOR, what="set the case director")
        decision = with_body(case_director.set_case_director, body)
        return await run(request, principal, case_id, "case-director", key, body, decision)

    @router.post("/escalations")
    async def escalate(
        case_id: UUID,
        body: team_no.Escalate,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """R: the route stagnates; escalate to the Team NO of the pupil's municipality."""
        require(principal, *WORKERS, what="escalate to Team NO")
        decision = with_body(team_no.escalate, body)
        return await run(request, principal, case_id, "escalate", key, body, decision)

    @router.post("/team-no-decision")
    async def record_team_no_decision(
        case_id: UUID,
        body: team_no.RecordTeamNODecision,
        request: Request,
        principal: CurrentPrincipal,
        key: Key = None,
    ) -> Answer:
        """R: Team NO records its decision, the assignment and the provider."""
        require(principal, Role.TEAM_NO_MEMBER, what="record a Team NO decision")
        decision = with_body(team_no.record_decision, body)
        check = own_region(principal)
        return await run(request, principal, case_id, "team-no", key, body, decision, check)

    return router
