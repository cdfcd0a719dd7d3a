"""An SWV's directory as one document: what the dev file and ``PUT /directory`` hold."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from passend_backbone.auth import Role
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import CalendarPolicy, ExpertiseArea, HolidayPeriod
from passend_contracts.municipalities import MunicipalityCode


def _refused(message: str) -> Refusal:
    """A rule of the document the schema can't say (one place, one role's place, regions
    apart): refused as the directory's own rule (422, rule ``directory``), not as a
    malformed request."""
    return Refusal.invalid("directory", message, field="people")


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkUnitDoc(_Doc):
    work_unit_id: str = Field(min_length=1)
    name: str
    coordinator_id: str | None = None


class WorkerDoc(_Doc):
    worker_id: str = Field(min_length=1)
    work_unit_id: str = Field(min_length=1)
    expertise: list[str] = Field(default_factory=list)
    weekly_case_hours: float = Field(ge=0)
    known_schools: list[str] = Field(default_factory=list)


class SchoolDoc(_Doc):
    school_id: str = Field(min_length=1)
    name: str
    municipality: MunicipalityCode
    holiday_region: str | None = None


class TeamNoRegionDoc(_Doc):
    """TNO: a Team NO region of the SWV, the municipalities it covers and its members."""

    region: str = Field(
        min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$", description="Its id"
    )
    name: str = Field(min_length=1, max_length=200, description="How screens name it")
    municipalities: list[MunicipalityCode] = Field(
        default_factory=list, description="The CBS codes of the municipalities it covers"
    )
    members: list[str] = Field(
        default_factory=list, description="Person ids of its Team NO members"
    )

    @model_validator(mode="after")
    def _once(self) -> TeamNoRegionDoc:
        for what, values in (("municipality", self.municipalities), ("member", self.members)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise _refused(f"region {self.region}: {what} listed twice: {', '.join(twice)}")
        return self


# What a role needs to be placed: an IB's and a teacher's school, a support worker's and a
# coordinator's work unit, a Team NO member's region.
_PLACE: dict[Role, str] = {
    Role.IB: "school_id",
    Role.TEACHER: "school_id",
    Role.SUPPORT_WORKER: "work_unit_id",
    Role.COORDINATOR: "work_unit_id",
    Role.TEAM_NO_MEMBER: "region",
}
# A work address: something@domain.tld, no spaces (the identity provider checked it is theirs).
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class PersonDoc(_Doc):
    """Someone who works with Passend: their name, work address and what they are in it.

    Never a pupil or a parent: those are known to intake only, encrypted.
    """

    person_id: str = Field(
        min_length=1, max_length=200, description="The id in their tokens (``sub``)"
    )
    display_name: str = Field(min_length=1, max_length=200, description="How screens name them")
    email: str | None = Field(
        default=None, max_length=320, pattern=EMAIL_PATTERN, description="Their work address"
    )
    roles: list[Role] = Field(min_length=1, description="Values of passend_backbone.auth.Role")
    school_id: str | None = Field(default=None, description="IB, teacher: their school")
    work_unit_id: str | None = Field(
        default=None, description="Support worker, coordinator: their work unit"
    )
    region: str | None = Field(default=None, description="Team NO member: their region")
    groups: list[str] = Field(default_factory=list, description="Teacher: the groups they teach")
    login: str | None = Field(
        default=None, description="Their subject at the identity provider, when not person_id"
    )

    @model_validator(mode="after")
    def _placed(self) -> PersonDoc:
        """Roles are people's roles (not a service's), each with the place it needs."""
        if Role.SERVICE in self.roles:
            raise _refused(f"{self.person_id}: 'service' is the role of a Passend service")
        if len(set(self.roles)) != len(self.roles):
            raise _refused(f"{self.person_id}: a role is listed twice")
        for role in self.roles:
            place = _PLACE.get(role)
            if place is not None and not getattr(self, place):
                raise _refused(f"{self.person_id}: a {role.value} needs {place}")
        if self.groups and Role.TEACHER not in self.roles:
            raise _refused(f"{self.person_id}: only a teacher has groups")
        return self


# Why someone left, when the document does not say (shown in the audit trail, in Dutch).
DEFAULT_DEPARTURE = "niet meer in het personeelsoverzicht van het SWV"


class SwvDoc(_Doc):
    """One SWV's directory as a document (the dev file and ``PUT /directory`` use this)."""

    swv_id: str = Field(min_length=1)
    name: str
    education_specialist_id: str | None = None
    route_coach_id: str | None = None
    case_hours_per_week: float = Field(default=2.0, gt=0)
    expertise_areas: list[ExpertiseArea] = Field(default_factory=list)
    work_units: list[WorkUnitDoc] = Field(default_factory=list)
    workers: list[WorkerDoc] = Field(default_factory=list)
    schools: list[SchoolDoc] = Field(default_factory=list)
    school_holidays: dict[str, list[HolidayPeriod]] = Field(default_factory=dict)
    team_no_regions: list[TeamNoRegionDoc] = Field(
        default_factory=list,
        description=(
            "TNO: the SWV's Team NO regions, each with the municipalities it covers (CBS "
            "codes, each in one region at most) and its members (people with the "
            "team_no_member role and that region). Regions left out stay as they are."
        ),
    )
    calendar: CalendarPolicy | None = Field(
        default=None,
        description=(
            "W26: Good Friday, 5 May and the school holidays as working days or not; "
            "left out, the defaults of the calendar policy"
        ),
    )
    people: list[PersonDoc] | None = Field(
        default=None,
        description=(
            "Everyone who works with Passend in this SWV. Left out (null), the people stay as "
            "they are; a list is the whole list: who is missing from it is deactivated. "
            "With people, every worker is a person with the support_worker role in the same "
            "work unit, and every such person has a worker profile."
        ),
    )
    departures: dict[str, Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=dict,
        description=(
            "Why people missing from ``people`` left (person id -> reason), for the record; "
            "without one the reason is that they are no longer listed"
        ),
    )
    hand_over: dict[UUID, str] = Field(
        default_factory=dict,
        description=(
            "W25: case id -> the support worker who takes it over, for every open case of a "
            "worker this document removes or deactivates (refused with 409 naming the "
            "cases otherwise)"
        ),
    )

    @model_validator(mode="after")
    def _regions_apart(self) -> SwvDoc:
        """TNO: a region once, and a municipality in one region only (its Team NO is one)."""
        seen: dict[str, str] = {}
        ids = [r.region for r in self.team_no_regions]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise _refused(f"regions listed twice: {', '.join(twice)}")
        for region in self.team_no_regions:
            for code in region.municipalities:
                other = seen.setdefault(code, region.region)
                if other != region.region:
                    raise _refused(f"{code} is in region {other} and in region {region.region}")
        return self

    @model_validator(mode="after")
    def _people_and_workers_agree(self) -> SwvDoc:
        """Each person once; with people, workers and support workers are the same people."""
        if self.people is None:
            return self
        ids = [p.person_id for p in self.people]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise _refused(f"people listed twice: {', '.join(twice)}")
        listed = set(ids) & set(self.departures)
        if listed:
            raise _refused(f"departures of people still listed: {', '.join(sorted(listed))}")
        workers = {p.person_id: p for p in self.people if Role.SUPPORT_WORKER in p.roles}
        for worker in self.workers:
            person = workers.get(worker.worker_id)
            if person is None:
                raise _refused(
                    f"worker {worker.worker_id} is not among the people as a support_worker"
                )
            if person.work_unit_id != worker.work_unit_id:
                raise _refused(
                    f"{worker.worker_id}: work unit {person.work_unit_id} among the people, "
                    f"{worker.work_unit_id} among the workers"
                )
        profiled = {w.worker_id for w in self.workers}
        missing = sorted(set(workers) - profiled)
        if missing:
            raise _refused(f"support workers without a worker profile: {', '.join(missing)}")
        return self
