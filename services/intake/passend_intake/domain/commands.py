"""Intake's commands on a case: each carries every fact its decision needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from passend_contracts.events.intake import ConsentMethod, PupilView
from passend_intake.domain.documents import AttachDocument, RemoveDocument
from passend_intake.domain.parent_contact import CorrectParentContact
from passend_intake.domain.request import Reformulate, SubmitRequest


@dataclass(frozen=True)
class ReformulateRequest:
    """W6, W7: the new text, and who claimed the case (read from the read model before)."""

    case_id: UUID
    reformulation: Reformulate
    claimed_by: str | None


@dataclass(frozen=True)
class WithdrawRequest:
    """The school withdraws; ``trajectory_opened_at`` as the read model knows it (W15)."""

    case_id: UUID
    withdrawn_by: str
    reason: str
    trajectory_opened_at: datetime | None


@dataclass(frozen=True)
class RequestConsent:
    """W10: the school asks the named parents, by ``method``."""

    case_id: UUID
    requested_by: str
    parent_refs: tuple[str, ...]
    method: ConsentMethod
    link_expires_at: datetime | None


@dataclass(frozen=True)
class ConfirmConsent:
    """W10: a parent consents; ``pupil_age`` (None once erased) decides on hearing (R)."""

    case_id: UUID
    parent_ref: str
    method: ConsentMethod
    pupil_age: int | None


@dataclass(frozen=True)
class RefuseConsent:
    """W10: a parent refuses."""

    case_id: UUID
    parent_ref: str
    method: ConsentMethod


@dataclass(frozen=True)
class WithdrawConsent:
    """W10: a parent withdraws consent, as told to ``recorded_by`` (None: the parent
    withdrew through their own link)."""

    case_id: UUID
    parent_ref: str
    recorded_by: str | None


@dataclass(frozen=True)
class HearPupil:
    """R: the pupil of 12 or older was heard."""

    case_id: UUID
    heard_by: str
    view: PupilView


IntakeCommand = (
    SubmitRequest
    | ReformulateRequest
    | WithdrawRequest
    | RequestConsent
    | ConfirmConsent
    | RefuseConsent
    | WithdrawConsent
    | HearPupil
    | CorrectParentContact
    | AttachDocument
    | RemoveDocument
)

__all__ = [
    "AttachDocument",
    "ConfirmConsent",
    "CorrectParentContact",
    "HearPupil",
    "IntakeCommand",
    "ReformulateRequest",
    "RefuseConsent",
    "RemoveDocument",
    "RequestConsent",
    "SubmitRequest",
    "WithdrawConsent",
    "WithdrawRequest",
]
