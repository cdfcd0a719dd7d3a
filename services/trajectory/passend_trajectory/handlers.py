"""Load a case's stream, decide, append with the expected version: for users and reactors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone import tenancy
from passend_backbone.eventstore import ConcurrencyError, EventStore, Metadata, NewEvent
from passend_backbone.eventstore.model import RecordedEvent
from passend_contracts.events.base import EventPayload
from passend_trajectory.domain.catalogue import parse_own
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.decide import decide
from passend_trajectory.domain.evolve import replay
from passend_trajectory.domain.refusals import NotFound
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.idempotency import IdempotencyKey, claim_key, remember

# A command decided on a stream that moved on meanwhile is decided again on the new state
# (the rules are checked again); after this many tries the caller gets a conflict.
ATTEMPTS = 10

Decision = Callable[[TrajectoryState, Act], list[EventPayload]]
Check = Callable[[TrajectoryState], None]


def fold(records: Sequence[RecordedEvent]) -> TrajectoryState:
    """The state of a stream as stored."""
    return replay(parse_own(r.event_type, r.data) for r in records)


async def load(
    store: EventStore, case_id: UUID, swv: str, conn: asyncpg.Connection | None = None
) -> TrajectoryState:
    """The case's trajectory state; a case of another SWV answers as if it didn't exist."""
    records = await store.read_stream(str(case_id), conn=conn)
    if not records or records[0].swv != swv:
        raise NotFound("W25", f"no trajectory for case {case_id}")
    return fold(records)


@dataclass(frozen=True)
class UserCommand:
    """A user's command as the API hands it over."""

    case_id: UUID
    swv: str
    actor: str
    correlation_id: str
    command_id: str
    decision: Decision
    check: Check | None = None  # who may do this on this case (raises to refuse)
    on_behalf_of: str | None = None


async def execute(
    store: EventStore,
    pool: asyncpg.Pool,
    command: UserCommand,
    act: Act,
    idempotency: IdempotencyKey | None = None,
) -> dict[str, Any]:
    """Decide and append; the answer names the appended events (the first answer on a retry
    with the same Idempotency-Key). Raises the domain's refusals and ``ConcurrencyError``."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            # As the caller's tenant (row-level security), not as the service's login.
            async with tenancy.tenant_transaction(pool, command.swv) as conn:
                return await _attempt(store, conn, command, act, idempotency)
        except ConcurrencyError:
            # The transaction rolled back, the claimed idempotency key with it: decide again.
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _attempt(
    store: EventStore,
    conn: asyncpg.Connection,
    command: UserCommand,
    act: Act,
    idempotency: IdempotencyKey | None,
) -> dict[str, Any]:
    if idempotency is not None:
        earlier = await claim_key(conn, idempotency)
        if earlier is not None:
            return earlier
    state = await load(store, command.case_id, command.swv, conn)
    if command.check is not None:
        command.check(state)
    events = decide(state, lambda s: command.decision(s, act), act)
    meta = Metadata(
        swv=command.swv,
        actor=command.actor,
        correlation_id=command.correlation_id,
        causation_id=command.command_id,
        on_behalf_of=command.on_behalf_of,
    )
    recorded = await store.append(
        str(command.case_id), state.version, [NewEvent.of(e) for e in events], meta, conn=conn
    )
    answer = {
        "case_id": str(command.case_id),
        "version": recorded[-1].stream_version if recorded else state.version,
        "events": [
            {"id": str(r.event_id), "type": r.event_type, "version": r.stream_version}
            for r in recorded
        ],
    }
    if idempotency is not None:
        await remember(conn, idempotency, answer)
    return answer


async def react(
    store: EventStore,
    conn: asyncpg.Connection,
    case_id: UUID,
    decision: Callable[[TrajectoryState], list[EventPayload]],
    meta: Metadata,
    ids: Callable[[int], UUID],
    act: Act,
) -> list[RecordedEvent]:
    """A reactor's append in the runner's transaction, with deterministic event ids
    (``ids(n)``), decided again when a user's command got to the stream first."""
    for attempt in range(1, ATTEMPTS + 1):
        records = await store.read_stream(str(case_id), conn=conn)
        state = fold(records)
        events = decide(state, decision, act)
        if not events:
            return []
        new = [NewEvent.of(e, event_id=ids(i)) for i, e in enumerate(events)]
        try:
            return await store.append(str(case_id), state.version, new, meta, conn=conn)
        except ConcurrencyError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
