"""A user's command on a case through the backbone's one command path, with its timers.

:func:`passend_backbone.commands.execute` claims the idempotency key, reads the case,
checks the caller's reach, decides, appends and retries a lost race; this module adds
what is the case's own: the caller's standing in the directory before anything about
the case, 404 for a case out of reach, the contact timer and responsibility rows written
in the same transaction as the events, and the answer the API gives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from passend_assignment.access import require_sees
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.case_commands import CASE_DECIDER, CaseCommand
from passend_assignment.responsibility import sync_responsibility
from passend_assignment.schemas import CaseOut
from passend_assignment.timers import sync_timers
from passend_backbone.auth import Principal
from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    Outcome,
    StoredAnswer,
    execute,
)
from passend_backbone.eventstore import Metadata, RecordedEvent

CaseOutcome = Outcome[CaseState | None]
Prepare = Callable[[Any, CaseState | None], Awaitable[CaseCommand]]
# Checks the caller in the command's transaction before the case is looked at (raises).
Gate = Callable[[Any], Awaitable[None]]


def command_meta(principal: Principal, correlation_id: str, what: str) -> Metadata:
    """Who asks, under the request's correlation id; each command its own causation id."""
    return Metadata(
        swv=principal.swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        causation_id=f"{what}:{uuid4()}",
    )


def case_answer(outcome: CaseOutcome) -> StoredAnswer:
    """200 with the case after the command and the types of the events it appended."""
    assert outcome.state is not None  # the reach check refused an unrouted case
    return StoredAnswer(
        200,
        {
            "case": CaseOut.of(outcome.state).model_dump(mode="json"),
            "events": [r.event_type for r in outcome.recorded],
        },
    )


def keep_timers(now: datetime) -> Callable[[Any, CaseOutcome], Awaitable[None]]:
    """The ``after`` hook: W26 timer rows and the W25 responsible worker follow the case's
    new events in their transaction."""

    async def after(tx: Any, outcome: CaseOutcome) -> None:
        if outcome.recorded and outcome.state is not None:
            await sync_timers(tx, outcome.state, now)
            await sync_responsibility(tx, outcome.state)

    return after


async def on_case(
    ports: CommandPorts,
    principal: Principal,
    case_id: UUID,
    command: CaseCommand | None = None,
    *,
    prepare: Prepare | None = None,
    gate: Gate | None = None,
    meta: Metadata,
    now: datetime,
    key: IdempotencyKey | None = None,
) -> StoredAnswer:
    """Decide ``command`` (or what ``prepare`` builds in the transaction) on the case, as
    ``principal`` in their tenant's transaction.

    ``gate`` checks the caller first (issue 24: a support worker's standing in the
    directory), so its refusal is the same whether or not the case exists for them. A
    case never routed, another SWV's case and a case out of the caller's reach then all
    answer 404 before anything is decided. A retry with the same key gets the first
    answer; a lost race is decided again, so the rules name the winner (W25).
    """
    read: list[Sequence[RecordedEvent]] = []

    def reach(state: CaseState | None, records: Sequence[RecordedEvent]) -> None:
        if gate is None:
            require_sees(principal, case_id, state, records)
        else:
            read[:] = [records]  # the reach is checked in ``build``, after the gate

    async def build(tx: Any, state: CaseState | None) -> CaseCommand:
        if gate is not None:
            await gate(tx)
            require_sees(principal, case_id, state, read[0])
        if prepare is not None:
            return await prepare(tx, state)
        assert command is not None  # one of the two was given (checked below)
        return command

    if (command is None) == (prepare is None):
        raise TypeError("on_case() takes a command or a prepare function, not both or neither")
    return await execute(
        ports,
        CASE_DECIDER,
        str(case_id),
        prepare=build,
        tenant=principal.swv,
        meta=meta,
        now=now,
        key=key,
        check=reach,
        after=keep_timers(now),
        answer=case_answer,
    )
