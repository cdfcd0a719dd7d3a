"""Erasing a pupil on request (AVG art. 17): who decides, who confirms, what each case records.

Pure rules; :mod:`passend_intake.erasure` carries them out (the key deleted, the events
appended) and :mod:`passend_intake.api_privacy` offers them to the privacy officer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from passend_backbone.commands import Decider, Refusal
from passend_backbone.working_days import local_day
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    CaseErased,
    ErasureConfirmed,
    ErasureReason,
    ErasureRejected,
    ErasureRequested,
    RequestWithdrawn,
)
from passend_contracts.privacy import WITHDRAWN_BY_ERASURE
from passend_intake.domain.state import CaseState, RequestStatus

# Each SWV decides whether an erasure needs a second privacy officer
# (INTAKE_ERASURE_SECOND_OFFICER): a comma-separated list of SWVs, or "*" for all.
EVERY_SWV = "*"


@dataclass(frozen=True)
class ErasureDecision:
    """Who asked, who decided, who confirmed and on what ground: what a request records."""

    request_id: UUID
    requested_by: str
    grounds: str
    decided_by: str
    confirmed_by: str | None = None


@dataclass(frozen=True)
class RequestState:
    """An erasure request's stream: decided, then confirmed or rejected (or neither yet)."""

    requested: ErasureRequested | None = None
    confirmed: ErasureConfirmed | None = None
    rejected: ErasureRejected | None = None

    @property
    def pending(self) -> bool:
        """Waiting for the second officer."""
        return (
            self.requested is not None
            and self.requested.needs_confirmation
            and self.confirmed is None
            and self.rejected is None
        )


@dataclass(frozen=True)
class RequestErasure:
    request_id: UUID
    pupil_ref: str
    requested_by: str
    received_on: date
    grounds: str
    officer: str
    needs_confirmation: bool


@dataclass(frozen=True)
class ConfirmErasure:
    officer: str


@dataclass(frozen=True)
class RejectErasure:
    officer: str
    reason: str


ErasureCommand = RequestErasure | ConfirmErasure | RejectErasure


def evolve_request(state: RequestState, event: EventPayload) -> RequestState:
    """The request's state after ``event``."""
    match event:
        case ErasureRequested():
            return replace(state, requested=event)
        case ErasureConfirmed():
            return replace(state, confirmed=event)
        case ErasureRejected():
            return replace(state, rejected=event)
    return state


def decide_request(
    state: RequestState, command: ErasureCommand, now: datetime
) -> Sequence[EventPayload]:
    """The events of an erasure request's commands; a rule that says no raises a Refusal."""
    match command:
        case RequestErasure():
            if state.requested is not None:
                return []  # the same request again: decided once
            return [
                request_erasure(
                    command.request_id,
                    command.pupil_ref,
                    command.requested_by,
                    command.received_on,
                    command.grounds,
                    command.officer,
                    command.needs_confirmation,
                    now,
                )
            ]
        case ConfirmErasure():
            confirm(state, command.officer)
            assert state.requested is not None  # confirm() refuses otherwise
            return [
                ErasureConfirmed(
                    request_id=state.requested.request_id,
                    confirmed_by=command.officer,
                    confirmed_at=now,
                )
            ]
        case RejectErasure():
            confirm(state, command.officer)
            assert state.requested is not None
            if not command.reason.strip():
                raise Refusal.invalid("erasure", "say why the request is rejected", field="reason")
            return [
                ErasureRejected(
                    request_id=state.requested.request_id,
                    rejected_by=command.officer,
                    reason=command.reason.strip(),
                    rejected_at=now,
                )
            ]


REQUEST: Decider[RequestState, ErasureCommand] = Decider(
    initial=RequestState(), evolve=evolve_request, decide=decide_request
)


def decision_of(state: RequestState) -> ErasureDecision:
    """Who asked, decided and confirmed, once the request may be carried out."""
    assert state.requested is not None
    return ErasureDecision(
        request_id=state.requested.request_id,
        requested_by=state.requested.requested_by,
        grounds=state.requested.grounds,
        decided_by=state.requested.decided_by,
        confirmed_by=state.confirmed.confirmed_by if state.confirmed else None,
    )


def needs_second_officer(swv: str, setting: Iterable[str]) -> bool:
    """Whether ``swv`` requires a second privacy officer to confirm an erasure."""
    chosen = {s.strip() for s in setting if s.strip()}
    return EVERY_SWV in chosen or swv in chosen


def request_erasure(
    request_id: UUID,
    pupil_ref: str,
    requested_by: str,
    received_on: date,
    grounds: str,
    officer: str,
    needs_confirmation: bool,
    now: datetime,
) -> ErasureRequested:
    """The officer's decision to grant a request, as recorded; texts must say something."""
    if not requested_by.strip():
        raise Refusal.invalid("erasure", "say who asked for the erasure", field="requested_by")
    if not grounds.strip():
        raise Refusal.invalid("erasure", "give the ground for the erasure", field="grounds")
    if received_on > local_day(now):
        raise Refusal.invalid(
            "erasure", "the request cannot have been received in the future", field="received_on"
        )
    return ErasureRequested(
        request_id=request_id,
        pupil_ref=pupil_ref,
        requested_by=requested_by.strip(),
        received_on=received_on,
        grounds=grounds.strip(),
        decided_by=officer,
        decided_at=now,
        needs_confirmation=needs_confirmation,
    )


def confirm(state: RequestState, officer: str) -> None:
    """erasure_second_officer: another officer than the one who decided confirms (or
    rejects) a pending request, once."""
    if state.requested is None:
        raise Refusal.not_found("erasure", "no such erasure request")
    if state.confirmed is not None or state.rejected is not None:
        raise Refusal.conflict("erasure", "this erasure request was already dealt with")
    if not state.requested.needs_confirmation:
        raise Refusal.conflict("erasure", "this erasure request needs no confirmation")
    if state.requested.decided_by == officer:
        raise Refusal.forbidden(
            "erasure_second_officer",
            "a second privacy officer must confirm: the officer who decided cannot",
        )


def case_erasure(
    state: CaseState,
    case_id: UUID,
    *,
    reason: ErasureReason,
    erased_by: str,
    now: datetime,
    decision: ErasureDecision | None,
    still_open: bool,
) -> list[EventPayload]:
    """What one case of the erased pupil records: the erasure, after withdrawing it if open.

    An open request (not withdrawn, its trajectory not closed) is withdrawn first with the
    erasure as its reason, so every service ends the case as it ends a withdrawn one (W1);
    the case's history then shows the erasure with who asked, who decided and when.
    """
    if state.erased_at is not None:
        return []
    events: list[EventPayload] = []
    if still_open and state.status is RequestStatus.SUBMITTED:
        events.append(
            RequestWithdrawn(
                case_id=case_id,
                withdrawn_by=erased_by,
                reason=WITHDRAWN_BY_ERASURE,
                withdrawn_at=now,
                by_erasure=True,
            )
        )
    events.append(
        CaseErased(
            case_id=case_id,
            reason=reason,
            requested_by=decision.requested_by if decision else None,
            erased_by=erased_by,
            confirmed_by=decision.confirmed_by if decision else None,
            erased_at=now,
        )
    )
    return events
