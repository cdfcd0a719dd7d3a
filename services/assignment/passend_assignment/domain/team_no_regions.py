"""Team NO regions as the SWV configures them: the municipalities each covers, its members."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from passend_assignment.domain.directory_doc import SwvDoc
from passend_backbone.auth import Role
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import PersonRegistered, TeamNoRegionConfigured


def configure_regions(
    known: Mapping[str, TeamNoRegionConfigured], doc: SwvDoc, now: datetime
) -> list[TeamNoRegionConfigured]:
    """TNO: an event for each region of ``doc`` that is new or changed (none for the rest)."""
    out: list[TeamNoRegionConfigured] = []
    for region in doc.team_no_regions:
        event = TeamNoRegionConfigured(
            swv_id=doc.swv_id,
            region=region.region,
            name=region.name,
            municipalities=sorted(region.municipalities),
            members=sorted(region.members),
            configured_at=now,
        )
        old = known.get(region.region)
        if old is None or old.model_dump(exclude={"configured_at"}) != event.model_dump(
            exclude={"configured_at"}
        ):
            out.append(event)
    return out


def require_consistent_regions(
    regions: Mapping[str, TeamNoRegionConfigured],
    people: Mapping[str, PersonRegistered],
    active: set[str],
) -> None:
    """TNO: the directory's regions, as the document leaves them, agree (422 ``TNO`` otherwise).

    A municipality is in one region of the SWV at most, so a case has one Team NO; a
    region's members are active people with the team_no_member role and that region; and
    once the SWV has regions, every Team NO member belongs to one of them.
    """
    covered: dict[str, str] = {}
    for region in sorted(regions.values(), key=lambda r: r.region):
        for code in region.municipalities:
            other = covered.setdefault(code, region.region)
            if other != region.region:
                raise Refusal.invalid(
                    "TNO",
                    f"{code} is in region {other} and in region {region.region}: "
                    "a municipality has one Team NO",
                    field="team_no_regions",
                )
        for member in region.members:
            person = people.get(member) if member in active else None
            if person is None or Role.TEAM_NO_MEMBER.value not in person.roles:
                raise Refusal.invalid(
                    "TNO",
                    f"region {region.region}: member {member} is not an active person with "
                    "the team_no_member role",
                    field="team_no_regions",
                )
            if person.region != region.region:
                raise Refusal.invalid(
                    "TNO",
                    f"region {region.region}: member {member} is in region {person.region}",
                    field="team_no_regions",
                )
    if not regions:
        return
    for person_id in sorted(active):
        person = people[person_id]
        if Role.TEAM_NO_MEMBER.value in person.roles and person.region not in regions:
            raise Refusal.invalid(
                "TNO",
                f"{person_id}: region {person.region} is not a Team NO region of the SWV",
                field="people",
            )
