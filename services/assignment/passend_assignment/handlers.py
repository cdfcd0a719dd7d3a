"""Commands on a case: load its stream, decide with the pure rules, append with the version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from passend_assignment import idempotency
from passend_assignment.domain import case as case_domain
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.errors import conflict
from passend_assignment.streams import load_case, load_directory
from passend_assignment.timers import sync_timers
from passend_backbone import tenancy
from passend_backbone.eventstore import (
    ConcurrencyError,
    EventStore,
    Metadata,
    NewEvent,
    RecordedEvent,
)
from passend_contracts.events.base import EventPayload

# A lost race is decided again on the fresh stream: the rules then name the winner
# ("already claimed by ...") instead of a bare version mismatch.
ATTEMPTS = 3

Decide = Callable[[CaseState, DirectoryState], list[EventPayload]]
Answer = Callable[[CaseState, list[EventPayload]], dict[str, Any]]
Check = Callable[[CaseState, list[RecordedEvent]], None]


@dataclass(frozen=True)
class Command:
    """Who asks what of which case, and under which ids."""

    case_id: UUID
    swv: str
    actor: str
    correlation_id: str
    causation_id: str
    key: idempotency.IdempotencyKey | None = None


async def run_case_command(
    pool: asyncpg.Pool,
    store: EventStore,
    command: Command,
    decide: Decide,
    answer: Answer,
    now: datetime,
    check: Check | None = None,
) -> dict[str, Any]:
    """Decide on the current stream and append at its version, in one transaction.

    The transaction is the command's tenant's (passend_backbone.tenancy): another SWV's
    case reads as unknown. ``check`` refuses a case out of the caller's reach before
    anything is decided. The timer rows and the idempotency key's answer are written in
    the same transaction as the events, so a crash leaves all of them or none.
    """
    for _ in range(ATTEMPTS):
        try:
            async with tenancy.tenant_transaction(pool, command.swv) as conn:
                if command.key is not None:
                    first = await idempotency.claim_key(conn, command.key)
                    if first is not None:
                        return first
                state, records = await load_case(store, command.case_id, command.swv, conn)
                if check is not None:
                    check(state, records)
                directory, _ = await load_directory(store, command.swv, conn)
                events = decide(state, directory)
                if events:
                    meta = Metadata(
                        swv=command.swv,
                        actor=command.actor,
                        correlation_id=command.correlation_id,
                        causation_id=command.causation_id,
                    )
                    new = [NewEvent.of(e) for e in events]
                    await store.append(str(command.case_id), len(records), new, meta, conn=conn)
                after = state
                for event in events:
                    after = case_domain.evolve(after, event) or after
                await sync_timers(conn, after, now)
                result = answer(after, events)
                if command.key is not None:
                    await idempotency.remember(conn, command.key, result)
                return result
        except ConcurrencyError:
            continue
    raise conflict(
        "concurrency", "the case kept changing while this was decided: reload it and try again"
    )
