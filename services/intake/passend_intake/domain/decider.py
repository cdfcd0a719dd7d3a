"""The decider of an intake case: one ``decide`` for every command on the case stream."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from passend_backbone.commands import Decider
from passend_contracts.events.base import EventPayload
from passend_intake.domain import consent, documents, parent_contact
from passend_intake.domain.commands import (
    ConfirmConsent,
    HearPupil,
    IntakeCommand,
    ReformulateRequest,
    RefuseConsent,
    RequestConsent,
    WithdrawConsent,
    WithdrawRequest,
)
from passend_intake.domain.request import SubmitRequest, reformulate, submit, withdraw
from passend_intake.domain.state import CaseState, evolve


def decide(state: CaseState, command: IntakeCommand, now: datetime) -> Sequence[EventPayload]:
    """The events ``command`` causes on the case; a rule that says no raises its Refusal."""
    match command:
        case SubmitRequest():
            return submit(state, command, now)
        case ReformulateRequest():
            return reformulate(
                state, command.reformulation, command.claimed_by, now, command.case_id
            )
        case WithdrawRequest():
            return withdraw(
                state,
                command.withdrawn_by,
                command.reason,
                command.trajectory_opened_at,
                now,
                command.case_id,
            )
        case RequestConsent():
            return consent.request_consent(
                state,
                command.case_id,
                command.requested_by,
                command.parent_refs,
                command.method,
                command.link_expires_at,
                now,
            )
        case ConfirmConsent():
            return consent.confirm_consent(
                state, command.case_id, command.parent_ref, command.method, command.pupil_age, now
            )
        case RefuseConsent():
            return consent.refuse_consent(
                state, command.case_id, command.parent_ref, command.method, now
            )
        case WithdrawConsent():
            return consent.withdraw_consent(
                state, command.case_id, command.parent_ref, command.recorded_by, now
            )
        case HearPupil():
            return consent.hear_pupil(state, command.case_id, command.heard_by, command.view, now)
        case parent_contact.CorrectParentContact():
            return parent_contact.correct_parent_contact(state, command, now)
        case documents.AttachDocument():
            return documents.attach(state, command, now)
        case documents.RemoveDocument():
            return documents.remove(state, command, now)


CASE: Decider[CaseState, IntakeCommand] = Decider(initial=CaseState(), evolve=evolve, decide=decide)
