"""W10: the parents are reached at the contact the school gave; a wrong one is corrected."""

from __future__ import annotations

from datetime import timedelta

from passend_backbone.commands import RefusalKind
from passend_contracts.events.intake import EncryptedIdentity
from passend_intake.domain.parent_contact import CorrectParentContact, correct_parent_contact
from passend_intake.domain.request import withdraw
from passend_intake.domain.state import CaseState, fold
from tests.unit.intake.builders import (
    CASE,
    NOW,
    OTHER_PARENT,
    PARENT,
    SEALED,
    conflict,
    consent_requested,
    invalid,
    refused_as,
    submitted,
)

RESEALED = EncryptedIdentity(ciphertext="bmlldXc=", nonce="bm9uY2Uy", key_id="k-1")


def correction(parent_ref: str = PARENT) -> CorrectParentContact:
    return CorrectParentContact(
        case_id=CASE, parent_ref=parent_ref, corrected_by="ib-7731", encrypted_identity=RESEALED
    )


def test_w10_a_named_parents_contact_is_corrected_and_replaces_the_sealed_identity() -> None:
    state = consent_requested()
    assert state.encrypted_identity == SEALED
    (event,) = correct_parent_contact(state, correction(OTHER_PARENT), NOW)
    assert (event.parent_ref, event.corrected_by, event.corrected_at) == (
        OTHER_PARENT,
        "ib-7731",
        NOW,
    )
    after = fold([event], state)
    assert after.encrypted_identity == RESEALED
    # The consent asked stands: the parent is asked again at the new address.
    assert after.consent is state.consent and after.consent_asked == state.consent_asked


def test_w10_only_a_parent_named_in_the_request_is_corrected() -> None:
    with invalid() as refused:
        correct_parent_contact(submitted(), correction("guardian-unknown"), NOW)
    assert (refused.value.rule, refused.value.field) == ("W10", "parent_ref")


def test_w10_a_withdrawn_request_takes_no_correction() -> None:
    state = submitted()
    state = fold(withdraw(state, "ib-7731", "Verhuisd", None, NOW, CASE), state)
    with conflict() as refused:
        correct_parent_contact(state, correction(), NOW + timedelta(hours=1))
    assert refused.value.rule == "W10"


def test_an_erased_pupils_parents_are_gone_and_not_corrected() -> None:
    erased = submitted().model_copy(update={"erased_at": NOW + timedelta(days=1)})
    with conflict() as refused:
        correct_parent_contact(erased, correction(), NOW + timedelta(days=2))
    assert refused.value.rule == "erasure"


def test_a_case_that_does_not_exist_is_not_found() -> None:
    with refused_as(RefusalKind.NOT_FOUND):
        correct_parent_contact(CaseState(), correction(), NOW)
