"""The rules of erasure on request (issue 20): who confirms, what each case records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from passend_backbone.commands import Refusal
from passend_contracts.events.intake import CaseErased, ErasureReason, RequestWithdrawn
from passend_intake.domain.erasure import (
    REQUEST,
    ConfirmErasure,
    ErasureDecision,
    RejectErasure,
    RequestErasure,
    case_erasure,
    needs_second_officer,
)
from passend_intake.domain.state import CaseState, RequestStatus

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def asked(needs_confirmation: bool) -> RequestErasure:
    return RequestErasure(
        request_id=uuid4(),
        pupil_ref="ll-1",
        requested_by="de moeder, per brief",
        received_on=date(2026, 12, 2),
        grounds="AVG art. 17 lid 1 sub b",
        officer="fg-sanne",
        needs_confirmation=needs_confirmation,
    )


def test_the_setting_names_swvs_or_all() -> None:
    assert needs_second_officer("swv-a", ["swv-a", "swv-b"])
    assert not needs_second_officer("swv-c", ["swv-a", ""])
    assert needs_second_officer("swv-c", ["*"])
    assert not needs_second_officer("swv-c", [""])


def test_erasure_second_officer_the_deciding_officer_cannot_confirm() -> None:
    state = REQUEST.fold(REQUEST.events_for(REQUEST.initial, asked(True), NOW))
    assert state.pending
    with pytest.raises(Refusal) as refused:
        REQUEST.events_for(state, ConfirmErasure(officer="fg-sanne"), NOW)
    assert refused.value.rule == "erasure_second_officer"
    confirmed = REQUEST.fold(
        REQUEST.events_for(state, ConfirmErasure(officer="fg-ahmed"), NOW), state
    )
    assert not confirmed.pending and confirmed.confirmed is not None
    with pytest.raises(Refusal):  # once
        REQUEST.events_for(confirmed, RejectErasure(officer="fg-ahmed", reason="x"), NOW)


def test_a_request_without_confirmation_cannot_be_confirmed_and_texts_are_required() -> None:
    state = REQUEST.fold(REQUEST.events_for(REQUEST.initial, asked(False), NOW))
    assert not state.pending
    with pytest.raises(Refusal):
        REQUEST.events_for(state, ConfirmErasure(officer="fg-ahmed"), NOW)
    blank = asked(False)
    with pytest.raises(Refusal) as refused:
        REQUEST.events_for(
            REQUEST.initial,
            RequestErasure(**{**blank.__dict__, "grounds": "  "}),
            NOW,
        )
    assert refused.value.field == "grounds"


def test_an_open_case_is_withdrawn_before_it_records_the_erasure() -> None:
    case_id = uuid4()
    decision = ErasureDecision(uuid4(), "de moeder", "AVG 17", "fg-sanne", "fg-ahmed")
    open_case = CaseState(status=RequestStatus.SUBMITTED)
    events = case_erasure(
        open_case,
        case_id,
        reason=ErasureReason.REQUEST,
        erased_by="fg-sanne",
        now=NOW,
        decision=decision,
        still_open=True,
    )
    assert [type(e) for e in events] == [RequestWithdrawn, CaseErased]
    withdrawn = events[0]
    assert isinstance(withdrawn, RequestWithdrawn)
    # Issue 19: the school and the auditor read the withdrawal's reason: it is Dutch.
    assert withdrawn.reason == "De gegevens van de leerling zijn op verzoek gewist (AVG art. 17)."
    erased = events[-1]
    assert isinstance(erased, CaseErased)
    assert (erased.requested_by, erased.confirmed_by) == ("de moeder", "fg-ahmed")
    closed = case_erasure(
        open_case,
        case_id,
        reason=ErasureReason.REQUEST,
        erased_by="fg-sanne",
        now=NOW,
        decision=decision,
        still_open=False,
    )
    assert [type(e) for e in closed] == [CaseErased]
    done = CaseState(status=RequestStatus.WITHDRAWN, erased_at=NOW)
    assert (
        case_erasure(
            done,
            case_id,
            reason=ErasureReason.RETENTION,
            erased_by="x",
            now=NOW,
            decision=None,
            still_open=True,
        )
        == []
    )
