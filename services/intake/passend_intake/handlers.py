"""Command handlers: load the case, decide with the pure domain, append, all in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone import tenancy
from passend_backbone.auth import Principal, Role
from passend_backbone.eventstore import ConcurrencyError, Metadata, NewEvent, RecordedEvent
from passend_backbone.service import ServiceContext
from passend_contracts import registry
from passend_contracts.events.base import EventPayload
from passend_intake import pupil_keys
from passend_intake.domain.identity import age_on
from passend_intake.domain.state import CaseState, RequestStatus, evolve

# A command decided on a stale state is decided again on the fresh one; more than this
# many lost races in a row means something is wrong, and the caller gets a 409.
_ATTEMPTS = 3

Decide = Callable[[asyncpg.Connection, CaseState, str], Awaitable[Sequence[EventPayload]]]


class CaseNotFound(Exception):
    """No such case for this caller: unknown, another tenant's, or another school's."""


class NotAllowed(Exception):
    """The caller may not do this at all in their own tenant (HTTP 403)."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


def parse_own(event: RecordedEvent) -> EventPayload:
    """The typed payload of one of intake's stored events (upcast to its newest version)."""
    return registry.parse_data(event.event_type, event.data)


async def load(
    ctx: ServiceContext, case_id: UUID, conn: asyncpg.Connection
) -> tuple[CaseState, str | None]:
    """The case's state and its tenant (None when the stream is empty)."""
    events = await ctx.store.read_stream(str(case_id), conn=conn)
    state = CaseState()
    for event in events:
        state = evolve(state, parse_own(event))
    return state, events[0].swv if events else None


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise NotAllowed(f"role {principal.role.value} may not do this; allowed: {allowed}")


def require_case_access(principal: Principal, state: CaseState, swv: str | None) -> None:
    """404 for a case of another tenant, or of another school when the caller is an IB."""
    if state.status is RequestStatus.NEW or swv != principal.swv:
        raise CaseNotFound
    if principal.role is Role.IB and principal.school_id != state.school_id:
        raise CaseNotFound


def metadata(principal: Principal, correlation_id: str, actor: str | None = None) -> Metadata:
    return Metadata(
        swv=principal.swv,
        actor=actor or principal.subject,
        correlation_id=correlation_id,
        causation_id=str(uuid.uuid4()),  # this command's id
    )


async def pupil_age(
    conn: asyncpg.Connection, state: CaseState, swv: str, today: date
) -> int | None:
    """The pupil's age from the encrypted date of birth; None once the pupil was erased."""
    identity = await pupil_keys.open_identity(conn, state.encrypted_identity, swv, state.pupil_ref)
    return age_on(identity.date_of_birth, today) if identity else None


async def act(
    ctx: ServiceContext,
    case_id: UUID,
    meta: Callable[[str], Metadata],
    decide: Decide,
    *,
    tenant: str,
    check: Callable[[CaseState, str | None], None],
) -> list[RecordedEvent]:
    """Load, check access, decide, append with the expected version: one transaction.

    The transaction is ``tenant``'s (passend_backbone.tenancy): another tenant's stream
    reads as empty. ``decide`` may write its own rows on ``conn`` (a consent link); they
    commit with the events or not at all. ``meta`` gets the case's tenant.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with tenancy.tenant_transaction(ctx.pool, tenant) as conn:
                state, swv = await load(ctx, case_id, conn)
                check(state, swv)
                assert swv is not None  # check() refuses empty streams
                events = await decide(conn, state, swv)
                return await ctx.store.append(
                    str(case_id),
                    state.version,
                    [NewEvent.of(e) for e in events],
                    meta(swv),
                    conn=conn,
                )
        except ConcurrencyError:
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def accepted(case_id: UUID, recorded: list[RecordedEvent]) -> dict[str, Any]:
    last = recorded[-1]
    return {"case_id": case_id, "event_type": last.event_type, "version": last.stream_version}
