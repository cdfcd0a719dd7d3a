"""Replaying a case's events reproduces its state; whatever the commands, one claim, one lapse."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.case_commands import (
    CASE_DECIDER,
    CaseCommand,
    Claim,
    FireTimer,
    Offer,
    RecordFirstContact,
)
from passend_assignment.domain.contact import TimerKind
from passend_assignment.domain.routing import route_request
from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload

from .factories import NOW, SWV, directory, submitted, worker

WORKERS = ("w-anna", "w-bram", "w-cor")
Command = tuple[str, str, int]  # (what, who, hours after submission)
commands = st.lists(
    st.tuples(
        st.sampled_from(["claim", "offer", "contact", "remind", "lapse"]),
        st.sampled_from(WORKERS),
        st.integers(min_value=0, max_value=24 * 12),
    ),
    max_size=25,
)


def _command(what: str, who: str, now: datetime) -> CaseCommand:
    if what == "claim":
        return Claim(who, "wu-1")
    if what == "offer":
        return Offer(who, None, None, ("behaviour",))
    if what == "contact":
        return RecordFirstContact(who, now)
    kind = TimerKind.REMINDER if what == "remind" else TimerKind.LAPSE
    return FireTimer(kind, SWV, directory())


def _decide(case: CaseState, command: Command) -> list[EventPayload]:
    """The case decider's answer to the scripted command (a refusal is raised)."""
    what, who, hours = command
    now = NOW + timedelta(hours=hours)
    return CASE_DECIDER.events_for(case, _command(what, who, now), now)


@settings(max_examples=200, deadline=None)
@given(commands)
def test_w25_w26_replay_reproduces_state_and_claims_and_lapses_happen_once(
    script: list[Command],
) -> None:
    dir_state = directory(*(worker(w) for w in WORKERS))
    log: list[EventPayload] = route_request(submitted(), SWV, dir_state, NOW)
    state = case_domain.fold(log)
    assert state is not None
    for command in script:
        try:
            events = _decide(state, command)
        except Refusal:
            continue
        for event in events:
            state = case_domain.evolve(state, event)
            assert state is not None
        log.extend(events)
    assert case_domain.fold(log) == state
    names = [type(e).__name__ for e in log]
    assert names.count("CaseClaimed") <= 1
    assert names.count("ContactDeadlineMissed") <= 1
    assert names.count("FirstContactRecorded") <= 1
    if "FirstContactRecorded" in names:
        # W26: contact is only recorded by whoever claimed the case, after the claim.
        assert names.index("CaseClaimed") < names.index("FirstContactRecorded")
