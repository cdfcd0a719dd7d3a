"""W26: first contact stops the clock; a due timer reminds once and lapses once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.contact import TimerKind, fire, record_first_contact, timers_of
from passend_assignment.domain.routing import claim
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import (
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    FirstContactRecorded,
)

from .factories import NOW, routed_case


def _claimed() -> CaseState:
    case = routed_case()
    state = case_domain.evolve(case, claim(case, "w-anna", "wu-1", NOW)[0])
    assert state is not None
    return state


def test_w26_routing_sets_both_timers() -> None:
    case = routed_case()
    timers = timers_of(case)
    assert set(timers) == {TimerKind.REMINDER, TimerKind.LAPSE}
    assert timers[TimerKind.REMINDER] < timers[TimerKind.LAPSE]


def test_w26_first_contact_stops_the_clock() -> None:
    case = _claimed()
    events = record_first_contact(case, "w-anna", NOW + timedelta(days=1), NOW + timedelta(days=1))
    recorded = events[0]
    assert isinstance(recorded, FirstContactRecorded)
    assert recorded.within_deadline
    after = case_domain.evolve(case, recorded)
    assert after is not None
    assert timers_of(after) == {}
    assert case.contact_due_at is not None
    assert fire(after, TimerKind.LAPSE, None, case.contact_due_at + timedelta(days=9)) == []


def test_w26_contact_needs_a_claim_and_the_claimer() -> None:
    with pytest.raises(Refusal, match="claim the case"):
        record_first_contact(routed_case(), "w-anna", NOW, NOW)
    with pytest.raises(Refusal) as refused:
        record_first_contact(_claimed(), "w-bram", NOW, NOW)
    assert refused.value.kind is RefusalKind.FORBIDDEN


def test_w26_contact_in_the_future_or_twice_is_refused() -> None:
    case = _claimed()
    with pytest.raises(Refusal, match="future"):
        record_first_contact(case, "w-anna", NOW + timedelta(hours=1), NOW)
    done = case_domain.evolve(case, record_first_contact(case, "w-anna", NOW, NOW)[0])
    assert done is not None
    with pytest.raises(Refusal, match="already recorded"):
        record_first_contact(done, "w-anna", NOW, NOW)


def test_w26_late_contact_is_recorded_as_not_within_the_deadline() -> None:
    case = _claimed()
    assert case.contact_due_at is not None
    late = case.contact_due_at + timedelta(hours=2)
    event = record_first_contact(case, "w-anna", late, late)[0]
    assert isinstance(event, FirstContactRecorded)
    assert not event.within_deadline


def test_w26_reminder_fires_once_to_the_responsible_worker() -> None:
    case = routed_case()
    assert case.remind_at is not None
    assert fire(case, TimerKind.REMINDER, None, case.remind_at - timedelta(seconds=1)) == []
    events = fire(case, TimerKind.REMINDER, None, case.remind_at)
    assert isinstance(events[0], ContactDeadlineApproaching)
    assert events[0].responsible_worker_id == "w-anna"
    reminded = case_domain.evolve(case, events[0])
    assert reminded is not None
    assert fire(reminded, TimerKind.REMINDER, None, case.remind_at) == []


def test_w26_lapse_raises_contact_deadline_missed_once_telling_the_coordinator() -> None:
    case = routed_case()
    assert case.contact_due_at is not None
    events = fire(case, TimerKind.LAPSE, "co-1", case.contact_due_at)
    missed = events[0]
    assert isinstance(missed, ContactDeadlineMissed)
    assert (missed.receiving_worker_id, missed.coordinator_id) == ("w-anna", "co-1")
    after = case_domain.evolve(case, missed)
    assert after is not None
    assert fire(after, TimerKind.LAPSE, "co-1", case.contact_due_at + timedelta(days=1)) == []
    assert fire(after, TimerKind.REMINDER, "co-1", case.contact_due_at) == []
