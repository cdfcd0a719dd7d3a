"""People in the directory document become events: new, changed, removed, back again (issue 24)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from passend_assignment.directory_file import DEV_FILE, load_directory_file
from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.directory_commands import DIRECTORY_DECIDER, ConfigureDirectory
from passend_assignment.domain.directory_doc import DEFAULT_DEPARTURE, SwvDoc
from passend_backbone.auth import Role
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered

from .factories import NOW

LATER = NOW + timedelta(days=1)


def person(person_id: str, name: str, *roles: str, **place: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "display_name": name,
        "email": f"{person_id}@waterweg.passend.test",
        "roles": list(roles),
        **place,
    }


ANNA = person("w-anna", "Anna de Boer", "support_worker", work_unit_id="wu-1")
IB = person("ib-1", "Ilse Kok", "ib", school_id="sch-1")
TEACHER = person("lk-1", "Tim Brouwer", "teacher", school_id="sch-1", groups=["groep 3"])


def doc(*people: dict[str, Any] | None, **extra: Any) -> SwvDoc:
    """A small SWV document; ``people`` None leaves the people out of it."""
    listed = None if people == (None,) else [p for p in people if p is not None]
    workers = [
        {"worker_id": p["person_id"], "work_unit_id": p["work_unit_id"], "weekly_case_hours": 16}
        for p in listed or []
        if "support_worker" in p["roles"]
    ]
    return SwvDoc.model_validate(
        {
            "swv_id": "swv-test",
            "name": "Test",
            "work_units": [{"work_unit_id": "wu-1", "name": "Noord", "coordinator_id": "co-1"}],
            "schools": [{"school_id": "sch-1", "name": "School 1", "municipality": "GM0622"}],
            "workers": workers,
            "people": listed,
            **extra,
        }
    )


def people_events(state: DirectoryState, document: SwvDoc) -> list[Any]:
    return [
        e
        for e in configure(state, document, LATER)
        if isinstance(e, PersonRegistered | PersonDeactivated)
    ]


def test_a_new_person_is_registered_with_name_address_roles_and_place() -> None:
    events = people_events(DirectoryState(), doc(ANNA, IB, TEACHER))
    assert [e.person_id for e in events] == ["w-anna", "ib-1", "lk-1"]
    anna, ib, teacher = events
    assert isinstance(anna, PersonRegistered)
    assert (anna.display_name, anna.email, anna.roles, anna.work_unit_id) == (
        "Anna de Boer",
        "w-anna@waterweg.passend.test",
        ["support_worker"],
        "wu-1",
    )
    assert (ib.roles, ib.school_id) == (["ib"], "sch-1")
    assert (teacher.roles, teacher.groups) == (["teacher"], ["groep 3"])
    assert all(e.swv_id == "swv-test" and e.registered_at == LATER for e in events)


def test_the_same_people_again_emit_nothing_and_a_changed_name_emits_one_registration() -> None:
    state = fold(configure(DirectoryState(), doc(ANNA, IB), NOW))
    assert people_events(state, doc(ANNA, IB)) == []
    renamed = {**IB, "display_name": "Ilse Kok-Smit"}
    (event,) = people_events(state, doc(ANNA, renamed))
    assert isinstance(event, PersonRegistered)
    assert (event.person_id, event.display_name) == ("ib-1", "Ilse Kok-Smit")
    assert fold([*configure(DirectoryState(), doc(ANNA, IB), NOW), event]).people[
        "ib-1"
    ].display_name == ("Ilse Kok-Smit")


def test_a_removed_person_is_deactivated_with_the_reason_given_or_the_default() -> None:
    state = fold(configure(DirectoryState(), doc(ANNA, IB, TEACHER), NOW))
    given = doc(ANNA, departures={"ib-1": "met pensioen"})
    events = people_events(state, given)
    assert [(type(e), e.person_id) for e in events] == [
        (PersonDeactivated, "ib-1"),
        (PersonDeactivated, "lk-1"),
    ]
    reasons = {e.person_id: e.reason for e in events if isinstance(e, PersonDeactivated)}
    assert reasons == {"ib-1": "met pensioen", "lk-1": DEFAULT_DEPARTURE}
    after = fold([*configure(DirectoryState(), doc(ANNA, IB, TEACHER), NOW), *events])
    assert after.active_person("ib-1") is None and after.left("ib-1")
    assert after.people["ib-1"].display_name == "Ilse Kok"  # their name stays on record
    # Deactivated once: the same document again emits nothing.
    assert people_events(after, given) == []


def test_someone_who_left_and_returns_is_registered_again() -> None:
    history = configure(DirectoryState(), doc(ANNA, IB), NOW)
    history += configure(fold(history), doc(ANNA), NOW)
    state = fold(history)
    assert state.left("ib-1")
    (back,) = people_events(state, doc(ANNA, IB))
    assert isinstance(back, PersonRegistered) and back.person_id == "ib-1"
    assert fold([*history, back]).active_person("ib-1") is not None


def test_a_document_without_people_leaves_them_as_they_are() -> None:
    state = fold(configure(DirectoryState(), doc(ANNA, IB), NOW))
    without = doc(None).model_copy(update={"workers": doc(ANNA).workers})
    assert without.people is None
    assert people_events(state, without) == []


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        (person("x-1", "X", "wizard"), "roles"),
        (person("x-1", "X", "service"), "role of a Passend service"),
        (person("x-1", "X", "ib"), "needs school_id"),
        (person("x-1", "X", "coordinator"), "needs work_unit_id"),
        (person("x-1", "X", "team_no_member"), "needs region"),
        (person("x-1", "X", "ib", school_id="sch-1", groups=["groep 1"]), "only a teacher"),
        ({**IB, "email": "not an address"}, "email"),
        ({**IB, "display_name": ""}, "display_name"),
    ],
)
def test_roles_are_passend_roles_with_the_place_each_needs(
    entry: dict[str, Any], complaint: str
) -> None:
    with pytest.raises((ValidationError, Refusal), match=complaint):
        doc(entry)


def test_workers_and_support_workers_among_the_people_must_agree() -> None:
    with pytest.raises((ValidationError, Refusal), match="listed twice"):
        doc(IB, IB)
    with pytest.raises((ValidationError, Refusal), match="not among the people"):
        SwvDoc.model_validate(
            {**doc(IB).model_dump(), "workers": doc(ANNA).model_dump()["workers"]}
        )
    with pytest.raises((ValidationError, Refusal), match="without a worker profile"):
        SwvDoc.model_validate({**doc(ANNA).model_dump(), "workers": []})
    moved = {**doc(ANNA).model_dump()}
    moved["workers"] = [{**moved["workers"][0], "work_unit_id": "wu-2"}]
    with pytest.raises((ValidationError, Refusal), match="work unit wu-1 among the people"):
        SwvDoc.model_validate(moved)
    with pytest.raises((ValidationError, Refusal), match="departures of people still listed"):
        doc(ANNA, IB, departures={"ib-1": "weg"})


def test_people_are_placed_in_work_units_and_schools_the_directory_knows() -> None:
    elsewhere = {**IB, "school_id": "sch-9"}
    with pytest.raises(Refusal) as refused:
        DIRECTORY_DECIDER.events_for(DirectoryState(), ConfigureDirectory(doc(elsewhere)), NOW)
    assert (refused.value.kind, refused.value.rule, refused.value.field) == (
        RefusalKind.INVALID,
        "directory",
        "people",
    )
    assert "sch-9" in refused.value.message


def test_the_dev_directory_names_every_dev_persona() -> None:
    (dev,) = load_directory_file(DEV_FILE)
    assert dev.people is not None
    people = {p.person_id: p for p in dev.people}
    # The ids the dev stack signs in with (portal personas, dev contacts, tests).
    personas = {
        "ib-marieke": Role.IB,
        "lk-sanne": Role.TEACHER,
        "ow-anouk": Role.SUPPORT_WORKER,
        "ow-bart": Role.SUPPORT_WORKER,
        "ow-chantal": Role.SUPPORT_WORKER,
        "ow-daan": Role.SUPPORT_WORKER,
        "ow-esra": Role.SUPPORT_WORKER,
        "ow-floris": Role.SUPPORT_WORKER,
        "co-henk": Role.COORDINATOR,
        "co-ilse": Role.COORDINATOR,
        "os-marleen": Role.EDUCATION_SPECIALIST,
        "rb-jeroen": Role.ROUTE_COACH,
        "tno-waterweg": Role.TEAM_NO_MEMBER,
        "auditor-1": Role.AUDITOR,
    }
    for person_id, role in personas.items():
        assert role in people[person_id].roles, person_id
    held = {role for p in dev.people for role in p.roles}
    assert {Role.OPERATOR, Role.PRIVACY_OFFICER, Role.SWV_ADMIN} <= held
    assert people["ib-marieke"].display_name == "Marieke de Vries"
    assert people["lk-sanne"].groups
    assert all(
        p.email and p.email.endswith("@waterweg.passend.test") and " " in p.display_name
        for p in dev.people
    )
    assert {p.region for p in dev.people if Role.TEAM_NO_MEMBER in p.roles} == {"waterweg"}
    assert dev.education_specialist_id in people and dev.route_coach_id in people
    assert {u.coordinator_id for u in dev.work_units} <= set(people)
