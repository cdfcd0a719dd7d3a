"""Running a user's command from a route: who may act on the case, then the backbone's
``execute`` (one transaction: idempotency key, stream, decider, append, answer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from fastapi import Request
from pydantic import BaseModel

from passend_backbone.auth import CaseFacts, Principal
from passend_backbone.commands import CommandPorts, IdempotencyKey, Refusal, execute
from passend_backbone.correlation import correlation_id_of
from passend_backbone.eventstore import Metadata
from passend_backbone.eventstore.model import RecordedEvent
from passend_backbone.service import ServiceContext
from passend_trajectory import reach
from passend_trajectory.domain.commands import Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.domain.team_no import decides_in_region

Answer = dict[str, Any]
# A check of the route's own on the case's state, before deciding (raises a Refusal).
Check = Callable[[TrajectoryState], None]
StreamCheck = Callable[[TrajectoryState, Sequence[RecordedEvent]], None]
FactsOf = Callable[[str, UUID], Awaitable[CaseFacts]]


def no_trajectory(case_id: UUID) -> Refusal:
    """Issue 9, 24: 404 for a case with no trajectory and for one out of the caller's reach,
    alike, under the technical rule ``case_reach`` (as intake answers): a domain rule (it
    was W25) would say more about the case than the caller may know."""
    return Refusal.not_found("case_reach", f"no trajectory for case {case_id}")


def in_reach(
    principal: Principal, case_id: UUID, known: CaseFacts, then: Check | None = None
) -> StreamCheck:
    """W25, issue 9: 404 unless the stream is a trajectory of the caller's SWV and the case is
    within their reach; then ``then``'s check.

    The 404 is :func:`no_trajectory`, the same for an unknown case and one out of reach.

    ``known`` comes from the read model; the stream adds its own facts, so a case claimed a
    moment ago is already its worker's.
    """

    def check(state: TrajectoryState, records: Sequence[RecordedEvent]) -> None:
        if not records or records[0].swv != principal.swv:
            raise no_trajectory(case_id)
        if not reach.within_reach(principal, reach.with_stream(known, state)):
            raise no_trajectory(case_id)
        if then is not None:
            then(state)

    return check


def own_region(principal: Principal) -> Check:
    """TNO: a Team NO member decides only on escalations to their own region's Team NO
    (403 otherwise)."""

    def check(state: TrajectoryState) -> None:
        refused = decides_in_region(state, principal.region)
        if refused is not None:
            raise refused

    return check


@dataclass(frozen=True)
class Runner:
    """Runs the routes' commands on the trajectory's stream of the case."""

    ports: CommandPorts
    clock: Callable[[], datetime]
    facts_of: FactsOf  # (swv, case_id) -> what the case_reach read model knows

    @classmethod
    def on(cls, ctx: ServiceContext) -> Runner:
        return cls(ctx.commands, ctx.clock, partial(reach.case_facts, ctx.pool))

    async def __call__(
        self,
        request: Request,
        principal: Principal,
        case_id: UUID,
        operation: str,
        command: BaseModel,
        key: str | None,
        check: Check | None = None,
    ) -> Answer:
        """Decide ``command`` on the case as ``principal``, only on a case within their reach
        and after ``check`` passes; with ``key``, a retry of the same ``operation`` and
        command gets the first answer, another command under the same key a 422."""
        known = await self.facts_of(principal.swv, case_id)
        idempotency = IdempotencyKey.of(
            principal.swv,
            principal.subject,
            key,
            f"trajectory.{operation}:{case_id}",
            command.model_dump(mode="json"),
        )
        meta = Metadata(
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=correlation_id_of(request.state),
            causation_id=f"{operation}:{uuid4()}",
        )
        answer = await execute(
            self.ports,
            DECIDER,
            str(case_id),
            Issued(principal.subject, command),
            tenant=principal.swv,
            meta=meta,
            now=self.clock(),
            key=idempotency,
            check=in_reach(principal, case_id, known, check),
        )
        return answer.body
