"""The authenticated caller of an API, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Roles from the security design; each service enforces what a role may do."""

    IB = "ib"  # intern begeleider: own school's cases
    TEACHER = "teacher"  # own pupils, read only
    SUPPORT_WORKER = "support_worker"  # own work unit's cases
    EDUCATION_SPECIALIST = "education_specialist"  # own SWV
    TEAM_NO_MEMBER = "team_no_member"  # own region's escalated cases
    ROUTE_COACH = "route_coach"  # cases they were called into
    AUDITOR = "auditor"  # read only, own SWV
    OPERATOR = "operator"  # no case content
    COORDINATOR = "coordinator"  # work-unit coordinator: own work unit
    SWV_ADMIN = "swv_admin"  # the SWV's own administrator: its whole directory, no case content
    # Functionaris gegevensbescherming: oversees the processing of personal data; no case
    # content (what they may see comes with its own endpoints).
    PRIVACY_OFFICER = "privacy_officer"
    SERVICE = "service"  # another Passend service


@dataclass(frozen=True)
class Principal:
    """Claims taken from a verified token. ``swv`` is the tenant every query is scoped to."""

    subject: str  # pseudonymous user id (the token's ``sub``)
    role: Role
    swv: str
    school_id: str | None = None  # IB, teacher
    work_unit_id: str | None = None  # support worker, coordinator
    region: str | None = None  # Team NO member: the Team NO region (municipality group)
    # Teacher: the pseudonymous references of the pupils they teach (the school's system
    # puts them in the token), so a teacher reads those pupils' cases and no others.
    pupil_refs: tuple[str, ...] = ()
