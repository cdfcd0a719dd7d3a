"""Replaying a case's events, also through JSON, reproduces the state the commands built."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from passend_backbone.commands import Refusal
from passend_contracts import registry
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentMethod, PupilView
from passend_intake.domain import consent
from passend_intake.domain.request import reformulate, submit, withdraw
from passend_intake.domain.state import CaseState, ConsentStatus, evolve, fold
from tests.unit.intake.builders import CASE, NOW, OTHER_PARENT, PARENT, reformulation, submission

Command = Callable[[CaseState], list[EventPayload]]
PARENTS = st.sampled_from([PARENT, OTHER_PARENT, "stranger"])
METHODS = st.sampled_from(list(ConsentMethod))


def _commands() -> st.SearchStrategy[Command]:
    ages = st.one_of(st.none(), st.integers(4, 18))
    link = st.sampled_from([None, NOW + timedelta(days=3)])
    return st.one_of(
        st.just(lambda s: list(reformulate(s, reformulation(), "worker-1", NOW, CASE))),
        st.just(lambda s: list(withdraw(s, "ib", "no longer needed", None, NOW, CASE))),
        st.builds(
            lambda p, m, x: lambda s: list(consent.request_consent(s, CASE, "ib", (p,), m, x, NOW)),
            PARENTS,
            METHODS,
            link,
        ),
        st.builds(
            lambda p, m, a: lambda s: list(consent.confirm_consent(s, CASE, p, m, a, NOW)),
            PARENTS,
            METHODS,
            ages,
        ),
        st.builds(
            lambda p, m: lambda s: list(consent.refuse_consent(s, CASE, p, m, NOW)),
            PARENTS,
            METHODS,
        ),
        st.builds(
            lambda p: lambda s: list(consent.withdraw_consent(s, CASE, p, "ib", NOW)), PARENTS
        ),
        st.builds(
            lambda v: lambda s: list(consent.hear_pupil(s, CASE, "ib", v, NOW)),
            st.sampled_from(list(PupilView)),
        ),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_commands(), max_size=12))
def test_replay_reproduces_state(commands: list[Command]) -> None:
    state = CaseState()
    events: list[EventPayload] = list(submit(state, submission(), NOW))
    state = fold(events)
    for command in commands:
        try:
            new = command(state)
        except Refusal:
            continue  # refused commands write nothing
        for event in new:
            state = evolve(state, event)
        events.extend(new)

    assert fold(events) == state
    through_json = [registry.parse_data(e.event_type, e.model_dump(mode="json")) for e in events]
    assert fold(through_json) == state
    assert state.version == len(events)
    # W10: consent is confirmed exactly when the last consent event confirmed it.
    consent_events = [e for e in events if type(e).__name__.startswith("Consent")]
    confirmed = bool(consent_events) and type(consent_events[-1]).__name__ == "ConsentConfirmed"
    assert (state.consent is ConsentStatus.CONFIRMED) == confirmed
