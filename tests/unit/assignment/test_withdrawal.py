"""W24-W26: a withdrawn request leaves the inbox, refuses claim and offer, and its timers stop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from passend_assignment.domain.contact import TimerKind, fire, timers_of
from passend_assignment.domain.routing import claim, offer
from passend_assignment.domain.withdrawal import note_withdrawal
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import CaseWithdrawn
from passend_contracts.events.intake import RequestWithdrawn

from .factories import NOW, routed_case, step

LATER = NOW + timedelta(days=1)


def _withdrawal(case_id: object) -> RequestWithdrawn:
    return RequestWithdrawn(
        case_id=case_id, withdrawn_by="ib-1", reason="ouders verhuizen", withdrawn_at=LATER
    )


def test_w26_a_withdrawal_is_noted_once_and_stops_both_timers() -> None:
    case = routed_case()
    assert set(timers_of(case)) == {TimerKind.REMINDER, TimerKind.LAPSE}
    (noted,) = note_withdrawal(case, _withdrawal(case.case_id))
    assert isinstance(noted, CaseWithdrawn)
    assert noted.receiving_worker_id == "w-anna" and noted.claimed_by is None
    after = step(case, noted)
    assert after.withdrawn_at == LATER
    assert timers_of(after) == {}
    assert case.contact_due_at is not None
    late = case.contact_due_at + timedelta(days=3)
    assert fire(after, TimerKind.LAPSE, "co-1", late) == []
    assert fire(after, TimerKind.REMINDER, "co-1", late) == []
    # A redelivered RequestWithdrawn changes nothing.
    assert note_withdrawal(after, _withdrawal(case.case_id)) == []


def test_w26_a_claimed_case_withdrawn_names_who_had_it() -> None:
    case = routed_case()
    claimed = step(case, *claim(case, "w-anna", "wu-1", NOW))
    (noted,) = note_withdrawal(claimed, _withdrawal(case.case_id))
    assert isinstance(noted, CaseWithdrawn) and noted.claimed_by == "w-anna"
    assert timers_of(step(claimed, noted)) == {}


def test_w25_a_withdrawn_case_can_be_neither_claimed_nor_offered() -> None:
    case = routed_case()
    withdrawn = step(case, *note_withdrawal(case, _withdrawal(case.case_id)))
    with pytest.raises(Refusal) as refused:
        claim(withdrawn, "w-anna", "wu-1", LATER)
    assert refused.value.kind is RefusalKind.CONFLICT and refused.value.rule == "W25"
    assert "withdrew" in refused.value.message
    with pytest.raises(Refusal) as refused:
        offer(withdrawn, "w-anna", None, [], LATER)
    assert refused.value.kind is RefusalKind.CONFLICT and refused.value.rule == "W25"
