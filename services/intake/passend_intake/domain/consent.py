"""The consent lifecycle (W10, R): requested, confirmed or refused, withdrawn at any time.

This is the education-law consent to individual support; the legal basis for processing
the pupil's data is a separate field of the request and never follows from it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from passend_backbone.commands import Refusal
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentMethod,
    ConsentRefused,
    ConsentRequested,
    ConsentWithdrawn,
    PupilHeard,
    PupilView,
)
from passend_intake.domain.identity import HEARING_AGE
from passend_intake.domain.state import CaseState, ConsentStatus, RequestStatus

# How long a personal consent link may stay valid at most.
MAX_LINK_VALIDITY = timedelta(days=14)
# W10: consent is withdrawable at any time. The parent who consented gets a link for it,
# valid as long as the consent stands (any later consent event voids it), and a year at
# most: after that the school gives the parent a new way to withdraw.
WITHDRAWAL_LINK_VALIDITY = timedelta(days=365)


def _require_open_request(state: CaseState) -> None:
    if state.status is RequestStatus.WITHDRAWN:
        raise Refusal.conflict(
            "W10", "the request was withdrawn: there is no support to consent to any more"
        )


def _since(state: CaseState) -> str:
    return f" on {state.consent_changed_at:%Y-%m-%d}" if state.consent_changed_at else ""


def request_consent(
    state: CaseState,
    case_id: UUID,
    requested_by: str,
    parent_refs: tuple[str, ...],
    method: ConsentMethod,
    link_expires_at: datetime | None,
    now: datetime,
) -> list[ConsentRequested]:
    """W10: the school asks the pupil's parents; asking again replaces an open request."""
    _require_open_request(state)
    if state.consent is ConsentStatus.CONFIRMED:
        raise Refusal.conflict(
            "W10", f"consent was already confirmed{_since(state)}: there is nothing to ask"
        )
    if not parent_refs:
        raise Refusal.invalid("W10", "name the parents asked", field="parent_refs")
    unknown = sorted(set(parent_refs) - set(state.parent_refs))
    if unknown:
        raise Refusal.invalid(
            "W10",
            f"{unknown} are not parents named in the request ({sorted(state.parent_refs)})",
            field="parent_refs",
        )
    if method is ConsentMethod.PERSONAL_LINK:
        if link_expires_at is None or link_expires_at <= now:
            raise Refusal.invalid(
                "W10", "a personal link needs an expiry in the future", field="expires_in_hours"
            )
        if link_expires_at - now > MAX_LINK_VALIDITY:
            raise Refusal.invalid(
                "W10",
                f"a personal link is valid for at most {MAX_LINK_VALIDITY.days} days",
                field="expires_in_hours",
            )
    elif link_expires_at is not None:
        raise Refusal.invalid("input", "only a personal link expires", field="expires_in_hours")
    return [
        ConsentRequested(
            case_id=case_id,
            requested_by=requested_by,
            requested_at=now,
            parent_refs=list(parent_refs),
            method=method,
            link_expires_at=link_expires_at,
        )
    ]


def _require_requested(state: CaseState, parent_ref: str) -> None:
    _require_open_request(state)
    if state.consent is ConsentStatus.NOT_REQUESTED:
        raise Refusal.conflict("W10", "consent was not requested yet: the school asks first")
    if state.consent is not ConsentStatus.REQUESTED:
        raise Refusal.conflict(
            "W10",
            f"consent is {state.consent.value}{_since(state)}: request consent again to "
            "record a new answer",
        )
    if parent_ref not in state.consent_asked:
        raise Refusal.invalid(
            "W10", f"{parent_ref!r} was not asked for consent on this case", field="parent_ref"
        )


def confirm_consent(
    state: CaseState,
    case_id: UUID,
    parent_ref: str,
    method: ConsentMethod,
    pupil_age: int | None,
    now: datetime,
) -> list[ConsentConfirmed]:
    """W10: a parent who was asked consents. R: a pupil of 12 or older is heard first."""
    _require_requested(state, parent_ref)
    if pupil_age is not None and pupil_age >= HEARING_AGE and not state.pupil_heard:
        raise Refusal.conflict(
            "R",
            f"the pupil is {pupil_age}, so {HEARING_AGE} or older, and must be heard before "
            "consent counts: the school records the hearing first",
        )
    return [
        ConsentConfirmed(
            case_id=case_id,
            confirmed_by=parent_ref,
            method=method,
            confirmed_at=now,
            pupil_heard=state.pupil_heard,
        )
    ]


def refuse_consent(
    state: CaseState, case_id: UUID, parent_ref: str, method: ConsentMethod, now: datetime
) -> list[ConsentRefused]:
    """W10: a parent who was asked refuses; individual support can't start."""
    _require_requested(state, parent_ref)
    return [ConsentRefused(case_id=case_id, refused_by=parent_ref, refused_at=now, method=method)]


def withdraw_consent(
    state: CaseState, case_id: UUID, parent_ref: str, recorded_by: str | None, now: datetime
) -> list[ConsentWithdrawn]:
    """W10: a parent withdraws confirmed consent, at any time; the work pauses."""
    if state.consent is not ConsentStatus.CONFIRMED:
        raise Refusal.conflict(
            "W10", f"consent is {state.consent.value}: only confirmed consent can be withdrawn"
        )
    if parent_ref not in state.parent_refs:
        raise Refusal.invalid(
            "W10", f"{parent_ref!r} is not a parent named in the request", field="parent_ref"
        )
    return [
        ConsentWithdrawn(
            case_id=case_id, withdrawn_by=parent_ref, withdrawn_at=now, recorded_by=recorded_by
        )
    ]


def hear_pupil(
    state: CaseState, case_id: UUID, heard_by: str, view: PupilView, now: datetime
) -> list[PupilHeard]:
    """R: the pupil (12 or older) is a party and is heard; the school records it."""
    _require_open_request(state)
    return [PupilHeard(case_id=case_id, heard_by=heard_by, view=view, heard_at=now)]
