"""A unit's coordinator changes only their own unit; the SWV's administrator all (issue 24)."""

from __future__ import annotations

from typing import Any

import pytest

from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.directory_commands import DIRECTORY_DECIDER, ConfigureDirectory
from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.directory_scope import WHOLE_SWV, Scope
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import PersonRegistered, SupportWorkerProfiled

from .factories import NOW

UNIT_1 = Scope("wu-1", "co-1")


def _person(person_id: str, name: str, roles: list[str], **place: Any) -> dict[str, Any]:
    return {"person_id": person_id, "display_name": name, "roles": roles, **place}


def base() -> dict[str, Any]:
    """Two work units, a worker in each, their coordinators and an IB."""
    return {
        "swv_id": "swv-test",
        "name": "Test",
        "work_units": [
            {"work_unit_id": "wu-1", "name": "Noord", "coordinator_id": "co-1"},
            {"work_unit_id": "wu-2", "name": "Zuid", "coordinator_id": "co-2"},
        ],
        "schools": [{"school_id": "sch-1", "name": "School 1", "municipality": "GM0622"}],
        "workers": [
            {"worker_id": "w-anna", "work_unit_id": "wu-1", "weekly_case_hours": 16},
            {"worker_id": "w-bram", "work_unit_id": "wu-2", "weekly_case_hours": 16},
        ],
        "people": [
            _person("w-anna", "Anna de Boer", ["support_worker"], work_unit_id="wu-1"),
            _person("w-bram", "Bram Dijkstra", ["support_worker"], work_unit_id="wu-2"),
            _person("co-1", "Carla Meijer", ["coordinator"], work_unit_id="wu-1"),
            _person("co-2", "Kees de Wit", ["coordinator"], work_unit_id="wu-2"),
            _person("ib-1", "Ilse Kok", ["ib"], school_id="sch-1"),
        ],
    }


STATE = fold(configure(DirectoryState(), SwvDoc.model_validate(base()), NOW))


def edited(**changes: Any) -> SwvDoc:
    return SwvDoc.model_validate({**base(), **changes})


def with_person(entry: dict[str, Any], worker: dict[str, Any] | None = None) -> SwvDoc:
    raw = base()
    raw["people"] = [*raw["people"], entry]
    if worker is not None:
        raw["workers"] = [*raw["workers"], worker]
    return SwvDoc.model_validate(raw)


def decide(doc: SwvDoc, scope: Scope, state: DirectoryState = STATE) -> list[Any]:
    return DIRECTORY_DECIDER.events_for(state, ConfigureDirectory(doc, scope), NOW)


def refused(doc: SwvDoc, scope: Scope, state: DirectoryState = STATE) -> Refusal:
    with pytest.raises(Refusal) as caught:
        decide(doc, scope, state)
    return caught.value


def test_a_coordinator_adds_and_changes_workers_and_people_of_their_own_unit() -> None:
    dirk = _person("w-dirk", "Dirk Bos", ["support_worker"], work_unit_id="wu-1")
    events = decide(
        with_person(dirk, {"worker_id": "w-dirk", "work_unit_id": "wu-1", "weekly_case_hours": 8}),
        UNIT_1,
    )
    assert [(type(e), getattr(e, "worker_id", getattr(e, "person_id", None))) for e in events] == [
        (SupportWorkerProfiled, "w-dirk"),
        (PersonRegistered, "w-dirk"),
    ]
    raw = base()
    raw["people"][0] = {**raw["people"][0], "display_name": "Anna de Boer-Jansen"}
    raw["workers"][0] = {**raw["workers"][0], "weekly_case_hours": 20}
    assert len(decide(SwvDoc.model_validate(raw), UNIT_1)) == 2


def test_a_coordinator_changing_another_unit_is_refused_naming_what() -> None:
    raw = base()
    raw["workers"][1] = {**raw["workers"][1], "weekly_case_hours": 4}  # w-bram, wu-2
    raw["people"][3] = {**raw["people"][3], "display_name": "Kees de Wit-Vos"}  # co-2
    refusal = refused(SwvDoc.model_validate(raw), UNIT_1)
    assert (refusal.kind, refusal.rule) == (RefusalKind.FORBIDDEN, "directory")
    assert "worker w-bram" in refusal.message and "person co-2" in refusal.message
    assert "you coordinate wu-1" in refusal.message


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"name": "Anders"}, "the SWV's settings"),
        (
            {
                "work_units": [
                    {"work_unit_id": "wu-1", "name": "Noord", "coordinator_id": "w-anna"},
                    {"work_unit_id": "wu-2", "name": "Zuid", "coordinator_id": "co-2"},
                ]
            },
            "work unit wu-1",
        ),
        (
            {"schools": [{"school_id": "sch-1", "name": "Nieuw", "municipality": "GM0622"}]},
            "school sch-1",
        ),
    ],
)
def test_settings_units_and_schools_are_the_swv_administrators(
    changes: dict[str, Any], named: str
) -> None:
    refusal = refused(edited(**changes), UNIT_1)
    assert refusal.rule == "directory" and named in refusal.message
    assert decide(edited(**changes), WHOLE_SWV)  # the administrator may


def test_a_coordinator_moving_a_worker_out_of_or_into_their_unit_is_refused() -> None:
    raw = base()
    raw["workers"][0] = {**raw["workers"][0], "work_unit_id": "wu-2"}
    raw["people"][0] = {**raw["people"][0], "work_unit_id": "wu-2"}
    refusal = refused(SwvDoc.model_validate(raw), UNIT_1)
    assert "worker w-anna" in refusal.message and "person w-anna" in refusal.message
    raw = base()
    raw["workers"][1] = {**raw["workers"][1], "work_unit_id": "wu-1"}
    raw["people"][1] = {**raw["people"][1], "work_unit_id": "wu-1"}
    assert "worker w-bram" in refused(SwvDoc.model_validate(raw), UNIT_1).message


def test_a_coordinator_gives_no_roles_beyond_support_worker_and_removes_no_one_elsewhere() -> None:
    boss = _person("w-eva", "Eva Peters", ["swv_admin"], work_unit_id="wu-1")
    assert "the roles of w-eva" in refused(with_person(boss), UNIT_1).message
    raw = base()
    raw["people"][0] = {**raw["people"][0], "roles": ["support_worker", "coordinator"]}
    assert "the roles of w-anna" in refused(SwvDoc.model_validate(raw), UNIT_1).message
    raw = base()
    del raw["people"][4]  # the IB: no work unit, so none of a coordinator's
    assert "person ib-1" in refused(SwvDoc.model_validate(raw), UNIT_1).message


def test_only_the_units_coordinator_has_its_scope() -> None:
    same = SwvDoc.model_validate(base())
    assert decide(same, UNIT_1) == []
    for scope in (Scope("wu-2", "co-1"), Scope("wu-1", "w-anna"), Scope("wu-9", "co-1")):
        refusal = refused(same, scope)
        assert refusal.rule == "directory" and "does not name" in refusal.message
