"""Who may do what in intake: the roles per action, and the facts that scope a case."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from passend_backbone.auth import CaseFacts, Principal, Role, has_role, sees_case
from passend_backbone.auth.policy import CASE_ROLES
from passend_backbone.commands import Refusal
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.eventstore import RecordedEvent
from passend_intake.domain.state import CaseState
from passend_intake.projections import RequestsProjection

# Every role that sees case content reads requests and consent, each within its reach.
READERS = CASE_ROLES
SUBMITTERS = frozenset({Role.IB})  # W3: the school's IB submits
WORKERS = frozenset({Role.IB, Role.SUPPORT_WORKER})  # reformulate, record consent answers

FACTS_SQL = """
SELECT r.swv, r.school_id, r.pupil_ref, r.addressed_worker_id, p.routed_to,
       p.routed_work_unit, p.claimed_by, p.route_coaches, p.escalated_region
FROM requests r LEFT JOIN case_progress p USING (case_id)
"""


def no_such_case() -> Refusal:
    """404: unknown, another tenant's, or out of the caller's reach (all answered alike)."""
    return Refusal.not_found("case_reach", "no such case")


def require_role(principal: Principal, roles: frozenset[Role]) -> None:
    """403 unless the caller's role may do this at all."""
    if not has_role(principal, roles):
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Refusal.forbidden(
            "roles", f"role {principal.role.value} may not do this; allowed: {allowed}"
        )


def facts_of(row: asyncpg.Record) -> CaseFacts:
    """The scoping facts of a row of :data:`FACTS_SQL` (or a query with its columns)."""
    return CaseFacts(
        swv=row["swv"],
        school_id=row["school_id"],
        pupil_ref=row["pupil_ref"],
        work_unit_ids=CaseFacts.names(row["routed_work_unit"]),
        workers=CaseFacts.names(row["addressed_worker_id"], row["routed_to"], row["claimed_by"]),
        escalated_region=row["escalated_region"],
        route_coaches=frozenset(row["route_coaches"] or ()),
    )


async def case_facts(pool: asyncpg.Pool, swv: str, case_id: UUID) -> CaseFacts | None:
    """What scopes the case, per the read model; None when it doesn't show the case yet."""
    async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
        row = await conn.fetchrow(FACTS_SQL + "WHERE r.case_id = $1", case_id)
    return facts_of(row) if row is not None else None


def require_sees(principal: Principal, facts: CaseFacts | None) -> None:
    """404 unless the case is within the caller's reach (another tenant's never is)."""
    if facts is None or not sees_case(principal, facts):
        raise no_such_case()


def command_check(principal: Principal, known: CaseFacts | None) -> _CommandCheck:
    """The ``check`` of ``execute`` for the caller's command: see :class:`_CommandCheck`."""
    return _CommandCheck(principal, known)


class _CommandCheck:
    """404 for an empty stream, another tenant's stream, or a case out of the caller's reach.

    The read model may not show a just-submitted case yet; the stream's own facts (school,
    pupil, addressed worker) then decide.
    """

    def __init__(self, principal: Principal, known: CaseFacts | None) -> None:
        self.principal = principal
        self.known = known

    def __call__(self, state: CaseState, records: Sequence[RecordedEvent]) -> None:
        if not records or records[0].swv != self.principal.swv:
            raise no_such_case()
        facts = self.known or CaseFacts(
            swv=records[0].swv,
            school_id=state.school_id,
            pupil_ref=state.pupil_ref,
            workers=CaseFacts.names(state.addressed_worker_id),
        )
        require_sees(self.principal, facts)
