"""Consent lifecycle (W10): requested, confirmed or refused, withdrawn; pupil 12+ heard (R)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from passend_contracts.events.intake import ConsentMethod, PupilView
from passend_intake.domain import consent
from passend_intake.domain.request import withdraw
from passend_intake.domain.state import ConsentStatus, fold
from tests.unit.intake.builders import (
    CASE,
    NOW,
    OTHER_PARENT,
    PARENT,
    conflict,
    consent_requested,
    invalid,
    submitted,
)

IN_PERSON = ConsentMethod.START_CONVERSATION


def test_w10_the_school_asks_named_parents() -> None:
    state = consent_requested()
    assert state.consent is ConsentStatus.REQUESTED
    assert state.consent_asked == (PARENT,)


def test_w10_consent_is_not_confirmed_before_it_was_asked() -> None:
    with conflict() as refused:
        consent.confirm_consent(submitted(), CASE, PARENT, IN_PERSON, 8, NOW)
    assert refused.value.rule == "W10"


def test_w10_an_asked_parent_confirms() -> None:
    (event,) = consent.confirm_consent(consent_requested(), CASE, PARENT, IN_PERSON, 8, NOW)
    assert event.confirmed_by == PARENT
    assert fold([event], consent_requested()).consent is ConsentStatus.CONFIRMED


def test_w10_a_parent_who_was_not_asked_can_not_answer() -> None:
    with invalid() as refused:
        consent.confirm_consent(consent_requested(), CASE, OTHER_PARENT, IN_PERSON, 8, NOW)
    assert (refused.value.rule, refused.value.field) == ("W10", "parent_ref")


def test_w10_an_asked_parent_refuses() -> None:
    (event,) = consent.refuse_consent(consent_requested(), CASE, PARENT, IN_PERSON, NOW)
    state = fold([event], consent_requested())
    assert state.consent is ConsentStatus.REFUSED
    with conflict():
        consent.confirm_consent(state, CASE, PARENT, IN_PERSON, 8, NOW)


def test_w10_confirmed_consent_is_withdrawn_at_any_time_and_can_be_asked_again() -> None:
    confirmed = fold(
        consent.confirm_consent(consent_requested(), CASE, PARENT, IN_PERSON, 8, NOW),
        consent_requested(),
    )
    with conflict():
        consent.request_consent(confirmed, CASE, "ib", (PARENT,), IN_PERSON, None, NOW)
    (event,) = consent.withdraw_consent(confirmed, CASE, PARENT, "ib-7731", NOW)
    assert event.recorded_by == "ib-7731"
    withdrawn = fold([event], confirmed)
    assert withdrawn.consent is ConsentStatus.WITHDRAWN
    again = consent.request_consent(withdrawn, CASE, "ib", (PARENT,), IN_PERSON, None, NOW)
    assert fold(again, withdrawn).consent is ConsentStatus.REQUESTED


def test_w10_only_confirmed_consent_can_be_withdrawn() -> None:
    with conflict():
        consent.withdraw_consent(consent_requested(), CASE, PARENT, "ib", NOW)


def test_w10_parents_asked_must_be_the_pupils_parents() -> None:
    with invalid() as refused:
        consent.request_consent(submitted(), CASE, "ib", ("stranger",), IN_PERSON, None, NOW)
    assert refused.value.field == "parent_refs"


@pytest.mark.parametrize(
    "expires",
    [None, NOW, NOW - timedelta(hours=1), NOW + timedelta(days=15)],
)
def test_w10_a_personal_link_expires_within_two_weeks(expires: datetime | None) -> None:
    with invalid() as refused:
        consent.request_consent(
            submitted(),
            CASE,
            "ib",
            (PARENT,),
            ConsentMethod.PERSONAL_LINK,
            expires,
            NOW,
        )
    assert refused.value.field == "expires_in_hours"


def test_w10_a_personal_link_request_records_its_expiry() -> None:
    expires = NOW + timedelta(days=7)
    (event,) = consent.request_consent(
        submitted(), CASE, "ib", (PARENT,), ConsentMethod.PERSONAL_LINK, expires, NOW
    )
    assert event.link_expires_at == expires
    assert event.method is ConsentMethod.PERSONAL_LINK


def test_r_a_pupil_of_twelve_is_heard_before_consent_counts() -> None:
    with conflict() as refused:
        consent.confirm_consent(consent_requested(), CASE, PARENT, IN_PERSON, 12, NOW)
    assert refused.value.rule == "R"
    heard = fold(
        consent.hear_pupil(consent_requested(), CASE, "ib-7731", PupilView.AGREES, NOW),
        consent_requested(),
    )
    (event,) = consent.confirm_consent(heard, CASE, PARENT, IN_PERSON, 12, NOW)
    assert event.pupil_heard is True


def test_r_a_pupil_under_twelve_need_not_be_heard() -> None:
    (event,) = consent.confirm_consent(consent_requested(), CASE, PARENT, IN_PERSON, 11, NOW)
    assert event.pupil_heard is False


def test_w10_no_consent_for_a_withdrawn_request() -> None:
    state = fold(withdraw(submitted(), "ib", "reason", None, NOW, CASE), submitted())
    with conflict():
        consent.request_consent(state, CASE, "ib", (PARENT,), IN_PERSON, None, NOW)
