"""Running a user's command from a route: who may act on the case, idempotency, the answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import Header, HTTPException, Request, status
from pydantic import BaseModel

from passend_backbone.auth import CaseFacts, Principal
from passend_backbone.service import ServiceContext
from passend_trajectory import idempotency, reach
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.refusals import NotFound
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.handlers import Check, Decision, UserCommand, execute

Key = Annotated[str | None, Header(alias=idempotency.HEADER)]
Answer = dict[str, Any]


def in_reach(principal: Principal, known: CaseFacts, then: Check | None = None) -> Check:
    """404 unless the case is within the caller's reach (issue 9), then ``then``'s check.

    ``known`` comes from the read model; the stream adds its own facts, so a case claimed a
    moment ago is already its worker's.
    """

    def check(state: TrajectoryState) -> None:
        if not reach.within_reach(principal, reach.with_stream(known, state)):
            raise NotFound("W25", f"no trajectory for case {state.case_id}")
        if then is not None:
            then(state)

    return check


def own_region(principal: Principal) -> Check:
    """R: a Team NO member decides only on escalations to their own region's Team NO."""

    def check(state: TrajectoryState) -> None:
        pending = state.open_escalation
        if pending is not None and pending.escalated.region != principal.region:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail={
                    "rule": "R",
                    "message": f"the case is on the agenda of Team NO {pending.escalated.region}",
                },
            )

    return check


def with_body(fn: Callable[[TrajectoryState, Any, Act], list[Any]], body: BaseModel) -> Decision:
    """The decision of a rule function taking the request body as its command."""
    return lambda state, act: fn(state, body, act)


@dataclass(frozen=True)
class Runner:
    """Runs commands of the routes on ``ctx``'s store."""

    ctx: ServiceContext

    async def __call__(
        self,
        request: Request,
        principal: Principal,
        case_id: UUID,
        what: str,
        key: str | None,
        body: BaseModel | None,
        decision: Decision,
        check: Check | None = None,
    ) -> Answer:
        """Decide and append ``what`` on the case as ``principal``, only on a case within
        their reach, and after ``check`` (a refusal of its own) passes."""
        known = await reach.case_facts(self.ctx.pool, principal.swv, case_id)
        command = UserCommand(
            case_id=case_id,
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=getattr(request.state, "correlation_id", None) or str(uuid4()),
            command_id=f"{what}:{uuid4()}",
            decision=decision,
            check=in_reach(principal, known, check),
        )
        asked = [what, str(case_id), body.model_dump(mode="json") if body else None]
        key_of = idempotency.key_for(principal.swv, principal.subject, key, asked)
        act = Act(principal.subject, self.ctx.clock())
        return await execute(self.ctx.store, self.ctx.pool, command, act, key_of)
