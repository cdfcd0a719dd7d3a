"""The HTTP API of the directory's people: names for screens, people for those who keep it.

Anyone signed in to the SWV looks up names and one person; the list of everyone is for
the roles that keep the directory (coordinators, the SWV's administrator, the operator).
Work e-mail addresses are shown to those roles only; to everyone else they are null.
Answers come from the SWV's directory stream, folded (it is small, and cached per
version).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from passend_assignment.access import require
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.reactors import DirectoryMemory
from passend_backbone import tenancy
from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.commands import Refusal
from passend_backbone.http_errors import problem_responses
from passend_backbone.service import ServiceContext

# Who lists everyone and sees work e-mail addresses: those who keep the directory and
# reach people about it. Notifications take addresses from the events, not from here.
KEEPERS = (Role.COORDINATOR, Role.SWV_ADMIN, Role.OPERATOR)
# At most this many ids in one names lookup (a screen's worth).
MAX_NAMES = 200


class PersonOut(BaseModel):
    """One person of the directory, as the caller may see them."""

    person_id: str
    display_name: str
    email: str | None = Field(
        description="Work address: only for coordinators, the SWV's administrator and the "
        "operator; null for every other role"
    )
    roles: list[str]
    school_id: str | None
    work_unit_id: str | None
    region: str | None
    groups: list[str]
    active: bool = Field(description="False once they left the directory")

    @classmethod
    def of(cls, directory: DirectoryState, person_id: str, *, with_email: bool) -> PersonOut:
        person = directory.people[person_id]
        return cls(
            person_id=person.person_id,
            display_name=person.display_name,
            email=person.email if with_email else None,
            roles=list(person.roles),
            school_id=person.school_id,
            work_unit_id=person.work_unit_id,
            region=person.region,
            groups=list(person.groups),
            active=not directory.left(person_id),
        )


def sees_email(principal: Principal) -> bool:
    """Whether the caller's role is one that reaches people by e-mail about the directory."""
    return principal.role in KEEPERS


def people_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["directory"])
    directories = DirectoryMemory()

    async def directory_of(principal: Principal) -> DirectoryState:
        async with tenancy.tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            return await directories.directory(ctx.store, principal.swv, conn)

    @router.get("/directory/people", responses=problem_responses(401, 403))
    async def list_people(principal: CurrentPrincipal) -> list[PersonOut]:
        """Everyone in the caller's SWV's directory, those who left too (``active`` false),
        by name. Only for coordinators, the SWV's administrator and the operator, who also
        see work e-mail addresses."""
        require(principal, *KEEPERS)
        directory = await directory_of(principal)
        people = sorted(
            directory.people.values(), key=lambda p: (p.display_name.casefold(), p.person_id)
        )
        return [PersonOut.of(directory, p.person_id, with_email=True) for p in people]

    @router.get("/directory/people/{person_id}", responses=problem_responses(401, 404))
    async def get_person(person_id: str, principal: CurrentPrincipal) -> PersonOut:
        """One person of the caller's SWV, for anyone signed in to it; the work e-mail
        address only for coordinators, the SWV's administrator and the operator (null for
        everyone else)."""
        directory = await directory_of(principal)
        if person_id not in directory.people:
            raise Refusal.not_found("directory", f"{person_id} is not in the SWV's directory")
        return PersonOut.of(directory, person_id, with_email=sees_email(principal))

    @router.get("/directory/names", responses=problem_responses(401, 422))
    async def names(
        principal: CurrentPrincipal,
        ids: str = Query(
            default="",
            description=f"Person ids, comma-separated (at most {MAX_NAMES})",
            examples=["ib-marieke,ow-anouk"],
        ),
    ) -> dict[str, str]:
        """``{person id: display name}`` for screens, for anyone signed in to the SWV.
        Ids the directory doesn't know are left out; people who left keep their name."""
        wanted = list(dict.fromkeys(i.strip() for i in ids.split(",") if i.strip()))
        if len(wanted) > MAX_NAMES:
            raise Refusal.invalid(
                "directory", f"at most {MAX_NAMES} ids at once, not {len(wanted)}", field="ids"
            )
        directory = await directory_of(principal)
        return {i: directory.people[i].display_name for i in wanted if i in directory.people}

    return router
