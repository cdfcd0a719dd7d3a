"""The people of an SWV's directory: who they are in Passend, and who left.

The identity provider says who someone is; the directory says what they are in Passend:
their display name and work address, their roles, and their school, work unit, Team NO
region or groups. A document's ``people`` is the whole list, so someone missing from it
is deactivated; what they did stays on record under their id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from passend_assignment.domain.directory_doc import DEFAULT_DEPARTURE, PersonDoc, SwvDoc
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered
from passend_contracts.events.base import EventPayload


def registration(swv_id: str, person: PersonDoc, now: datetime) -> PersonRegistered:
    """The event that says what ``person`` says, for tenant ``swv_id``."""
    return PersonRegistered(
        swv_id=swv_id,
        person_id=person.person_id,
        display_name=person.display_name,
        email=person.email,
        roles=[role.value for role in person.roles],
        school_id=person.school_id,
        work_unit_id=person.work_unit_id,
        region=person.region,
        groups=list(person.groups),
        login=person.login,
        registered_at=now,
    )


def _unchanged(old: PersonRegistered | None, new: PersonRegistered) -> bool:
    if old is None:
        return False
    stamp = {"registered_at"}
    return old.model_dump(exclude=stamp) == new.model_dump(exclude=stamp)


def register_people(
    people: Mapping[str, PersonRegistered],
    departed: Mapping[str, PersonDeactivated],
    doc: SwvDoc,
    now: datetime,
) -> list[EventPayload]:
    """The events that make the directory's people those of ``doc``.

    A new person, a changed one and one who returns after leaving are registered; an
    unchanged one emits nothing; one missing from the list is deactivated with the
    reason ``doc.departures`` gives (or :data:`DEFAULT_DEPARTURE`). Without a ``people``
    list the document says nothing about people: nothing is emitted.
    """
    if doc.people is None:
        return []
    out: list[EventPayload] = []
    listed = set()
    for person in doc.people:
        listed.add(person.person_id)
        event = registration(doc.swv_id, person, now)
        if person.person_id in departed or not _unchanged(people.get(person.person_id), event):
            out.append(event)
    for person_id in sorted(set(people) - listed - set(departed)):
        reason = doc.departures.get(person_id, DEFAULT_DEPARTURE)
        out.append(
            PersonDeactivated(
                swv_id=doc.swv_id, person_id=person_id, reason=reason, deactivated_at=now
            )
        )
    return out


def require_known_places(doc: SwvDoc, work_units: set[str], schools: set[str]) -> None:
    """People are placed in work units and schools the directory knows (422 otherwise).

    ``work_units`` and ``schools``: those of the directory with the document applied
    (units and schools missing from a document are kept, so both count).
    """
    for person in doc.people or ():
        if person.work_unit_id is not None and person.work_unit_id not in work_units:
            raise Refusal.invalid(
                "directory",
                f"{person.person_id}: work unit {person.work_unit_id} is not in the directory",
                field="people",
            )
        if person.school_id is not None and person.school_id not in schools:
            raise Refusal.invalid(
                "directory",
                f"{person.person_id}: school {person.school_id} is not in the directory",
                field="people",
            )
