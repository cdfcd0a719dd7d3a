"""Which roles may use which endpoints, and which cases a caller may see at all.

Every query is scoped to the caller's SWV twice: by the code (``swv = $1``) and by the
database (row-level security, passend_backbone.tenancy). Within the SWV,
:func:`passend_backbone.auth.sees_case` decides; a case out of reach answers 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from passend_assignment.domain.case import CaseState
from passend_backbone.auth import CaseFacts, Principal, Role, sees_case
from passend_backbone.auth.policy import CASE_ROLES
from passend_backbone.commands import Refusal
from passend_backbone.eventstore import RecordedEvent
from passend_contracts.events.assignment import RouteCoachCalledIn

# Who may read case lists of their own SWV (each row still within their reach).
STAFF = (
    Role.SUPPORT_WORKER,
    Role.COORDINATOR,
    Role.EDUCATION_SPECIALIST,
    Role.AUDITOR,
    Role.SERVICE,
)
# Who may read one case (within their reach). Team NO works from trajectory's escalations
# and a teacher from intake's request (assignment knows no pupil to scope a teacher by):
# assignment's routing and claims are none of theirs.
CASE_READERS = tuple(sorted(CASE_ROLES - {Role.TEAM_NO_MEMBER, Role.TEACHER}))


def require(principal: Principal, *roles: Role) -> None:
    """403 unless the caller has one of ``roles`` (within their own SWV)."""
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Refusal.forbidden(
            "roles", f"role {principal.role.value} may not do this; needs {allowed}"
        )


def case_facts(case: CaseState, records: Sequence[RecordedEvent] = ()) -> CaseFacts:
    """What scopes a case loaded from its stream (route coaches from their events)."""
    coaches = {
        str(r.data.get("route_coach_id"))
        for r in records
        if r.event_type == RouteCoachCalledIn.event_type and r.data.get("route_coach_id")
    }
    return CaseFacts(
        swv=case.swv_id,
        school_id=case.school_id,
        work_unit_ids=CaseFacts.names(case.work_unit_id, case.offered_to),
        workers=CaseFacts.names(case.receiving_worker_id, case.claimed_by),
        route_coaches=frozenset(coaches),
    )


def row_facts(swv: str, row: Any) -> CaseFacts:
    """What scopes a case-board row."""
    return CaseFacts(
        swv=swv,
        school_id=row["school_id"],
        work_unit_ids=CaseFacts.names(row["work_unit_id"], row["offered_to"]),
        workers=CaseFacts.names(row["receiving_worker_id"], row["claimed_by"]),
    )


def not_found(case_id: UUID) -> Refusal:
    """The answer for an unknown case, another SWV's case and a case out of reach alike."""
    return Refusal.not_found("tenant", f"case {case_id} not found")


def require_sees(
    principal: Principal, case_id: UUID, case: CaseState | None, records: Sequence[RecordedEvent]
) -> None:
    """404 unless the case was routed in the caller's SWV and is within their reach, exactly
    as for an unknown case."""
    if case is None or not sees_case(principal, case_facts(case, records)):
        raise not_found(case_id)


def visible_rows(principal: Principal, rows: Iterable[Any]) -> list[Any]:
    """The case-board rows within the caller's reach."""
    return [r for r in rows if sees_case(principal, row_facts(principal.swv, r))]
