"""Running a user's command from a route: who may act on the case, idempotency, the answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import Header, HTTPException, Request, status
from pydantic import BaseModel

from passend_backbone.auth import Principal
from passend_backbone.runtime import ServiceContext
from passend_trajectory import idempotency
from passend_trajectory.api import SCHOOL_ROLES
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.refusals import NotFound
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.handlers import Check, Decision, UserCommand, execute

Key = Annotated[str | None, Header(alias=idempotency.HEADER)]
Answer = dict[str, Any]


def own_school(principal: Principal) -> Check | None:
    """IB and teacher act only on their own school's cases; others on any case of their SWV."""
    if principal.role not in SCHOOL_ROLES:
        return None

    def check(state: TrajectoryState) -> None:
        if state.opened is None or state.opened.school_id != principal.school_id:
            raise NotFound("W3", f"no trajectory for case {state.case_id}")

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
        """Decide and append ``what`` on the case as ``principal``; IB and teacher only on
        their own school's cases unless ``check`` says otherwise."""
        command = UserCommand(
            case_id=case_id,
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=getattr(request.state, "correlation_id", None) or str(uuid4()),
            command_id=f"{what}:{uuid4()}",
            decision=decision,
            check=check or own_school(principal),
        )
        asked = [what, str(case_id), body.model_dump(mode="json") if body else None]
        key_of = idempotency.key_for(principal.swv, principal.subject, key, asked)
        act = Act(principal.subject, self.ctx.clock())
        return await execute(self.ctx.store, self.ctx.pool, command, act, key_of)
