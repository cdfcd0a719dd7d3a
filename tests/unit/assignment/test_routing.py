"""W24/W25/W14: a request lands with the addressed worker, is offered, and only one claim wins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.routing import claim, offer, route_request
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    RequestRouted,
    SpecialistRequired,
)
from passend_intake.domain.need_areas import need_areas

from .factories import NOW, SWV, directory, routed_case, step, submitted, worker


def test_w24_request_lands_with_the_addressed_worker_and_their_work_unit() -> None:
    request = submitted(worker="w-anna")
    events = route_request(request, SWV, directory(worker("w-anna", unit="wu-1")), NOW)
    assert len(events) == 1
    routed = events[0]
    assert isinstance(routed, RequestRouted)
    assert routed.receiving_worker_id == "w-anna"
    assert routed.work_unit_id == "wu-1"
    assert routed.ib_id == "ib-1"
    assert routed.need_areas == ["reading"]
    assert routed.contact_due_on is not None


def test_w24_unknown_worker_still_receives_the_request() -> None:
    request = submitted(worker="w-new")
    events = route_request(request, SWV, DirectoryState(), NOW)
    routed = events[0]
    assert isinstance(routed, RequestRouted)
    assert routed.receiving_worker_id == "w-new"
    assert routed.work_unit_id is None
    # The areas are intake's finding, whatever assignment's directory knows yet.
    assert routed.need_areas == request.need_areas == ["reading"]


def test_w14_multiple_problems_mark_the_case_as_needing_the_specialist() -> None:
    events = route_request(submitted(multiple_problems=True), SWV, directory(), NOW)
    specialist = [e for e in events if isinstance(e, SpecialistRequired)]
    assert len(specialist) == 1
    assert specialist[0].specialist_id == "spec-1"
    state = case_domain.fold(events)
    assert state is not None
    assert state.specialist_required


def test_w14_single_problem_needs_no_specialist() -> None:
    events = route_request(submitted(multiple_problems=False), SWV, directory(), NOW)
    assert not any(isinstance(e, SpecialistRequired) for e in events)


def test_w24_need_areas_match_whole_keywords_only() -> None:
    areas = directory().settings.expertise_areas  # type: ignore[union-attr]
    assert need_areas("Hij is vaak boos in de klas", areas) == ["behaviour"]
    assert need_areas("Leesbegrip", areas) == []


def test_w25_receiving_worker_claims() -> None:
    case = routed_case()
    events = claim(case, "w-anna", "wu-1", NOW)
    assert events == [
        CaseClaimed(
            case_id=case.case_id,
            school_id="school-1",
            ib_id="ib-1",
            worker_id="w-anna",
            claimed_at=NOW,
        )
    ]


def test_w25_colleague_cannot_claim_before_the_case_is_offered() -> None:
    case = routed_case()
    with pytest.raises(Refusal) as refused:
        claim(case, "w-bram", "wu-1", NOW)
    assert refused.value.kind is RefusalKind.CONFLICT
    assert refused.value.rule == "W25"


def test_w25_colleague_claims_from_the_work_unit_queue_and_receiver_stays_responsible() -> None:
    case = routed_case()
    offered = offer(case, "w-anna", None, ["behaviour"], NOW)
    assert isinstance(offered[0], CaseOfferedToWorkUnit)
    case = step(case, offered[0])
    assert case.responsible_worker_id == "w-anna"
    assert case.need_areas == ("reading", "behaviour")
    with pytest.raises(Refusal):
        claim(case, "w-other-unit", "wu-2", NOW)
    claimed = claim(case, "w-bram", "wu-1", NOW + timedelta(hours=1))
    case = step(case, claimed[0])
    assert case.responsible_worker_id == "w-bram"


def test_w25_second_claim_is_a_conflict_naming_the_winner() -> None:
    case = case_domain.evolve(routed_case(), claim(routed_case(), "w-anna", "wu-1", NOW)[0])
    assert case is not None
    with pytest.raises(Refusal, match="already claimed by w-anna") as refused:
        claim(case, "w-anna", "wu-1", NOW)
    assert refused.value.kind is RefusalKind.CONFLICT


def test_w25_only_the_receiving_worker_offers_and_not_after_a_claim() -> None:
    case = routed_case()
    with pytest.raises(Refusal) as refused:
        offer(case, "w-bram", "wu-1", [], NOW)
    assert refused.value.kind is RefusalKind.FORBIDDEN
    claimed = case_domain.evolve(case, claim(case, "w-anna", "wu-1", NOW)[0])
    assert claimed is not None
    with pytest.raises(Refusal, match="already claimed"):
        offer(claimed, "w-anna", None, [], NOW)


def test_w25_offering_twice_to_the_same_unit_appends_nothing() -> None:
    case = routed_case()
    case = step(case, offer(case, "w-anna", None, [], NOW)[0])
    assert offer(case, "w-anna", None, [], NOW) == []


def test_w24_offer_without_a_known_work_unit_says_what_to_do() -> None:
    case = routed_case(submitted(worker="w-new"), DirectoryState())
    with pytest.raises(Refusal, match="coordinator"):
        offer(case, "w-new", None, [], NOW)
