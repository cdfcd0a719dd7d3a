"""Who may see which case: the one rule every service applies to a principal and a case.

Two questions, asked in this order by every endpoint:

1. May the caller's role do this at all (:func:`has_role`)? If not: 403, whatever case
   is named, so a refusal says nothing about the case.
2. Is this case within the caller's reach (:func:`sees_case`)? If not: 404, exactly as
   for an unknown case, so another tenant's, school's or work unit's case can't even be
   shown to exist.

A service fills :class:`CaseFacts` with what it knows of the case; a fact it doesn't know
stays empty and then grants nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from passend_backbone.auth.principal import Principal, Role

# Roles that read cases but never change them.
READ_ONLY: frozenset[Role] = frozenset({Role.TEACHER, Role.AUDITOR})
# Roles that see every case of their own SWV.
WHOLE_SWV: frozenset[Role] = frozenset({Role.EDUCATION_SPECIALIST, Role.AUDITOR, Role.SERVICE})
# Every role that may see case content at all: the operator runs the system and the SWV's
# administrator keeps its directory, both blind to cases; the privacy officer's reads come
# with endpoints of their own.
CASE_ROLES: frozenset[Role] = frozenset(Role) - {
    Role.OPERATOR,
    Role.SWV_ADMIN,
    Role.PRIVACY_OFFICER,
}

# Roles that run the system: dead letters (``passend_backbone.deadletters``) and other
# operations. Blind to cases otherwise; reading a dead letter's record is logged.
OPERATIONS: frozenset[Role] = frozenset({Role.OPERATOR})


@dataclass(frozen=True)
class CaseFacts:
    """What decides who sees a case; each service fills in what it knows."""

    swv: str
    school_id: str | None = None
    pupil_ref: str | None = None
    work_unit_ids: frozenset[str] = field(default_factory=frozenset)  # routed, offered, claimed
    workers: frozenset[str] = field(default_factory=frozenset)  # addressed, received, claimed
    escalated_region: str | None = None  # the Team NO region, once escalated
    route_coaches: frozenset[str] = field(default_factory=frozenset)

    @staticmethod
    def names(*values: str | None) -> frozenset[str]:
        """The non-empty values, as a set (for ``workers`` and ``work_unit_ids``)."""
        return frozenset(v for v in values if v)


def has_role(principal: Principal, roles: Iterable[Role]) -> bool:
    """Whether the caller's role is one of ``roles`` (the 403 question)."""
    return principal.role in frozenset(roles)


def sees_case(principal: Principal, case: CaseFacts) -> bool:
    """Whether the case is within the caller's reach (the 404 question).

    IB: own school. Teacher: own school and one of the pupils in their token. Support
    worker and coordinator: their work unit's cases, and cases addressed to or claimed by
    them. Education specialist, auditor, another service: the whole own SWV. Team NO
    member: cases escalated to their region's Team NO. Route coach: cases they were
    called into. Operator, SWV administrator, privacy officer: none.
    """
    if case.swv != principal.swv:
        return False
    role = principal.role
    if role in WHOLE_SWV:
        return True
    if role is Role.IB:
        return principal.school_id is not None and principal.school_id == case.school_id
    if role is Role.TEACHER:
        return (
            principal.school_id is not None
            and principal.school_id == case.school_id
            and case.pupil_ref is not None
            and case.pupil_ref in principal.pupil_refs
        )
    if role in (Role.SUPPORT_WORKER, Role.COORDINATOR):
        unit = principal.work_unit_id
        in_unit = unit is not None and unit in case.work_unit_ids
        return in_unit or principal.subject in case.workers
    if role is Role.TEAM_NO_MEMBER:
        return principal.region is not None and principal.region == case.escalated_region
    if role is Role.ROUTE_COACH:
        return principal.subject in case.route_coaches
    return False
