"""Reformulation keeps old and new text, agreed jointly (W6, W7); withdrawal before trajectory."""

from __future__ import annotations

from datetime import timedelta

import pytest

from passend_contracts.events.intake import AgreedBy, SupportLevel
from passend_intake.domain.request import RequestedLevel, reformulate, withdraw
from passend_intake.domain.state import RequestStatus, fold
from tests.unit.intake.builders import CASE, NOW, conflict, invalid, reformulation, submitted

WORKER = "worker-0192"


def test_w6_w7_reformulation_keeps_old_and_new_text_and_who_agreed() -> None:
    state = submitted()
    (event,) = reformulate(state, reformulation(), WORKER, NOW, CASE)
    assert event.previous == state.fields
    assert event.current.levels == [SupportLevel.PUPIL, SupportLevel.TEACHER]
    assert {a.role for a in event.agreed_by} == {"ib", "support_worker"}
    assert event.reason
    after = fold([event], state)
    assert after.fields == event.current
    assert after.version == state.version + 1


def test_w6_no_reformulation_before_the_start_conversation() -> None:
    with conflict() as refused:
        reformulate(submitted(), reformulation(), None, NOW, CASE)
    assert refused.value.rule == "W6"


@pytest.mark.parametrize(
    "agreed_by",
    [
        (AgreedBy(role="ib", party_id="a"), AgreedBy(role="teacher", party_id="b")),
        (
            AgreedBy(role="support_worker", party_id="a"),
            AgreedBy(role="support_worker", party_id="b"),
        ),
    ],
)
def test_w7_reformulation_is_agreed_jointly(agreed_by: tuple[AgreedBy, ...]) -> None:
    with invalid() as refused:
        reformulate(submitted(), reformulation(agreed_by=agreed_by), WORKER, NOW, CASE)
    assert (refused.value.rule, refused.value.field) == ("W7", "agreed_by")


def test_w7_an_unchanged_text_is_no_reformulation() -> None:
    state = submitted()
    assert state.fields is not None
    same = reformulation(
        levels=(RequestedLevel.PUPIL,),
        educational_need=state.fields.educational_need,
        tried_in_basic_support=state.fields.tried_in_basic_support,
        why_stuck=state.fields.why_stuck,
    )
    with invalid():
        reformulate(state, same, WORKER, NOW, CASE)


def test_w5_reformulation_into_system_guidance_is_refused() -> None:
    cmd = reformulation(levels=(RequestedLevel.SCHOOL_ORGANISATION,))
    with invalid() as refused:
        reformulate(submitted(), cmd, WORKER, NOW, CASE)
    assert refused.value.rule == "W5"


def test_withdrawal_before_a_trajectory_records_the_reason() -> None:
    (event,) = withdraw(submitted(), "ib-7731", "Solved within basic support.", None, NOW, CASE)
    assert event.reason == "Solved within basic support."
    after = fold([event], submitted())
    assert after.status is RequestStatus.WITHDRAWN


def test_w15_no_withdrawal_once_a_trajectory_started() -> None:
    with conflict() as refused:
        withdraw(submitted(), "ib-7731", "reason", NOW - timedelta(days=1), NOW, CASE)
    assert refused.value.rule == "W15"


def test_a_withdrawn_request_is_not_withdrawn_or_reformulated_again() -> None:
    state = fold(withdraw(submitted(), "ib-7731", "reason", None, NOW, CASE), submitted())
    with conflict():
        withdraw(state, "ib-7731", "again", None, NOW, CASE)
    with conflict():
        reformulate(state, reformulation(), WORKER, NOW, CASE)


def test_withdrawal_needs_a_reason() -> None:
    with invalid() as refused:
        withdraw(submitted(), "ib-7731", " ", None, NOW, CASE)
    assert refused.value.field == "reason"
