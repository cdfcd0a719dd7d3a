"""Replaying a case's events reproduces its state; whatever the commands, one claim, one lapse."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.contact import TimerKind, fire, record_first_contact
from passend_assignment.domain.errors import Refused
from passend_assignment.domain.routing import claim, offer, route_request
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


def _decide(case: CaseState, command: Command) -> list[EventPayload]:
    what, who, hours = command
    now = NOW + timedelta(hours=hours)
    if what == "claim":
        return claim(case, who, "wu-1", now)
    if what == "offer":
        return offer(case, who, None, ["behaviour"], now)
    if what == "contact":
        return record_first_contact(case, who, now, now)
    kind = TimerKind.REMINDER if what == "remind" else TimerKind.LAPSE
    return fire(case, kind, "co-1", now)


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
        except Refused:
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
