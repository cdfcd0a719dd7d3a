"""W25: a worker with open cases leaves the directory only if the document hands them over."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.case_commands import CASE_DECIDER, Claim, HandOverCase
from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.directory_commands import (
    DIRECTORY_DECIDER,
    ConfigureDirectory,
    changes,
)
from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.directory_scope import WHOLE_SWV, Scope
from passend_assignment.domain.handover import HandOver, hand_over_case, leaving_workers
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseWithdrawn,
    PersonDeactivated,
    SupportWorkerProfiled,
)

from .factories import NOW, SWV, routed_case, step

CASE_A, CASE_B, CASE_C = sorted((uuid4(), uuid4(), uuid4()), key=str)


def raw(*workers: tuple[str, str]) -> dict[str, Any]:
    """A document with these (worker, unit) support workers, as workers and as people."""
    return {
        "swv_id": SWV,
        "name": "Test",
        "work_units": [
            {"work_unit_id": "wu-1", "name": "Noord", "coordinator_id": "co-1"},
            {"work_unit_id": "wu-2", "name": "Zuid", "coordinator_id": "co-2"},
        ],
        "workers": [
            {"worker_id": w, "work_unit_id": u, "weekly_case_hours": 16} for w, u in workers
        ],
        "people": [
            {
                "person_id": w,
                "display_name": w.title(),
                "roles": ["support_worker"],
                "work_unit_id": u,
            }
            for w, u in workers
        ],
    }


TEAM = (("w-anna", "wu-1"), ("w-bram", "wu-1"), ("w-zoe", "wu-2"))
STATE = fold(configure(DirectoryState(), SwvDoc.model_validate(raw(*TEAM)), NOW))
WITHOUT_ANNA = raw(*TEAM[1:])
# W25: who is responsible for which open case now (read in the command's transaction).
RESPONSIBLE = {CASE_A: "w-anna", CASE_B: "w-anna", CASE_C: "w-bram"}


def configure_doc(
    document: dict[str, Any], responsible: dict[Any, str], scope: Scope = WHOLE_SWV
) -> tuple[list[Any], list[HandOver]]:
    command = ConfigureDirectory(SwvDoc.model_validate(document), scope, responsible)
    return changes(STATE, command, NOW)


def test_w25_removing_a_worker_with_open_cases_is_refused_naming_them() -> None:
    with pytest.raises(Refusal) as refused:
        configure_doc(WITHOUT_ANNA, RESPONSIBLE)
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.CONFLICT, "W25")
    assert refused.value.status_code == 409
    assert f"{CASE_A}, {CASE_B}" in refused.value.message
    assert "w-anna" in refused.value.message and str(CASE_C) not in refused.value.message
    # Handing over one of the two is not enough: the other is named.
    with pytest.raises(Refusal) as refused:
        configure_doc({**WITHOUT_ANNA, "hand_over": {str(CASE_A): "w-bram"}}, RESPONSIBLE)
    assert str(CASE_B) in refused.value.message and str(CASE_A) not in refused.value.message


def test_w25_deactivating_a_worker_as_a_person_needs_the_hand_over_too() -> None:
    document = raw(*TEAM)
    document["people"] = document["people"][1:]
    document["workers"] = document["workers"][1:]
    assert leaving_workers(STATE, SwvDoc.model_validate(document)) == {"w-anna"}
    with pytest.raises(Refusal) as refused:
        configure_doc(document, {CASE_A: "w-anna"})
    assert str(CASE_A) in refused.value.message


def test_w25_with_a_hand_over_the_worker_leaves_and_each_case_gets_its_new_worker() -> None:
    hand_over = {str(CASE_A): "w-bram", str(CASE_B): "w-zoe"}
    events, plan = configure_doc({**WITHOUT_ANNA, "hand_over": hand_over}, RESPONSIBLE)
    assert any(isinstance(e, SupportWorkerProfiled) and not e.active for e in events)
    assert any(isinstance(e, PersonDeactivated) and e.person_id == "w-anna" for e in events)
    assert plan == [
        HandOver(CASE_A, "w-anna", "w-bram"),
        HandOver(CASE_B, "w-anna", "w-zoe"),
    ]


def test_w25_a_worker_without_open_cases_leaves_without_a_hand_over() -> None:
    events, plan = configure_doc(WITHOUT_ANNA, {CASE_C: "w-bram"})
    assert plan == [] and events


@pytest.mark.parametrize("target", ["w-anna", "w-nobody", "co-1"])
def test_w25_cases_go_only_to_an_active_support_worker_who_stays(target: str) -> None:
    with pytest.raises(Refusal) as refused:
        configure_doc(
            {**WITHOUT_ANNA, "hand_over": {str(CASE_A): target, str(CASE_B): "w-bram"}},
            RESPONSIBLE,
        )
    assert (refused.value.kind, refused.value.field) == (RefusalKind.INVALID, "hand_over")


def test_w25_a_hand_over_of_a_case_no_leaver_holds_is_refused_unless_already_done() -> None:
    with pytest.raises(Refusal) as refused:
        configure_doc({**raw(*TEAM), "hand_over": {str(CASE_C): "w-zoe"}}, RESPONSIBLE)
    assert refused.value.kind is RefusalKind.CONFLICT and str(CASE_C) in refused.value.message
    # The same document once more: the cases are already with the named workers.
    after = {CASE_A: "w-bram", CASE_B: "w-bram"}
    again = {**WITHOUT_ANNA, "hand_over": {str(CASE_A): "w-bram", str(CASE_B): "w-bram"}}
    command = ConfigureDirectory(SwvDoc.model_validate(again), WHOLE_SWV, after)
    first = configure(DirectoryState(), SwvDoc.model_validate(raw(*TEAM)), NOW)
    gone = fold([*first, *configure(fold(first), SwvDoc.model_validate(WITHOUT_ANNA), NOW)])
    assert changes(gone, command, NOW) == ([], [])


def test_w25_a_coordinator_hands_cases_over_within_their_unit_only() -> None:
    coordinator = Scope("wu-1", "co-1")
    _events, plan = configure_doc(
        {**WITHOUT_ANNA, "hand_over": {str(CASE_A): "w-bram", str(CASE_B): "w-bram"}},
        RESPONSIBLE,
        coordinator,
    )
    assert {h.to_worker for h in plan} == {"w-bram"}
    with pytest.raises(Refusal) as refused:
        configure_doc(
            {**WITHOUT_ANNA, "hand_over": {str(CASE_A): "w-zoe", str(CASE_B): "w-bram"}},
            RESPONSIBLE,
            coordinator,
        )
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.FORBIDDEN, "directory")


def test_w25_the_directory_decider_refuses_as_changes_does() -> None:
    command = ConfigureDirectory(SwvDoc.model_validate(WITHOUT_ANNA), WHOLE_SWV, RESPONSIBLE)
    with pytest.raises(Refusal):
        DIRECTORY_DECIDER.events_for(STATE, command, NOW)


def test_w25_the_case_records_the_hand_over_as_the_new_workers_claim() -> None:
    case = routed_case()  # received by w-anna, unclaimed
    (event,) = CASE_DECIDER.events_for(
        case, HandOverCase(HandOver(case.case_id, "w-anna", "w-bram"), SWV), NOW
    )
    assert isinstance(event, CaseClaimed)
    assert (event.worker_id, event.handed_over_from) == ("w-bram", "w-anna")
    after = step(case, event)
    assert after.responsible_worker_id == "w-bram"
    # A claimed case keeps the moment it was first claimed.
    claimed = step(case, *CASE_DECIDER.events_for(case, Claim("w-anna", "wu-1"), NOW))
    handed = hand_over_case(
        claimed, HandOver(case.case_id, "w-anna", "w-bram"), NOW.replace(hour=15)
    )
    assert step(claimed, *handed).claimed_at == claimed.claimed_at
    # Already the new worker's: nothing to record.
    assert hand_over_case(after, HandOver(case.case_id, "w-anna", "w-bram"), NOW) == []


def test_w25_a_case_that_moved_on_meanwhile_is_not_handed_over() -> None:
    case = routed_case()
    withdrawn = step(
        case,
        CaseWithdrawn(
            case_id=case.case_id,
            receiving_worker_id="w-anna",
            withdrawn_by="ib-1",
            withdrawn_at=NOW,
        ),
    )
    for moved in (withdrawn, case_domain.CaseState(**{**vars(case), "claimed_by": "w-zoe"})):
        with pytest.raises(Refusal) as refused:
            hand_over_case(moved, HandOver(case.case_id, "w-anna", "w-bram"), NOW)
        assert (refused.value.kind, refused.value.rule) == (RefusalKind.CONFLICT, "W25")
    other_swv = HandOverCase(HandOver(case.case_id, "w-anna", "w-bram"), "swv-other")
    with pytest.raises(Refusal) as refused:
        CASE_DECIDER.events_for(case, other_swv, NOW)
    assert refused.value.kind is RefusalKind.NOT_FOUND
