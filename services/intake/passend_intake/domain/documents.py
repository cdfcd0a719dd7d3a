"""Attaching documents to a case and removing them (W22), and who reads which kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from passend_backbone.auth import Role
from passend_backbone.auth.policy import CASE_ROLES
from passend_backbone.commands import Refusal
from passend_contracts.events.intake import (
    DocumentAttached,
    DocumentKind,
    DocumentRemovalReason,
    DocumentRemoved,
    DocumentStage,
    DocumentStep,
)
from passend_intake.domain.state import CaseState, RequestStatus

# Who may attach a document to a case within their reach: the school's IB (W22: the
# school's own documents), the support worker and the education specialist who work on it,
# and Team NO when the case is escalated to it.
ATTACHERS = frozenset(
    {Role.IB, Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST, Role.TEAM_NO_MEMBER}
)
# A psychologist's or other specialist's report holds more about the child than a teacher
# or a route coach needs for their part: they do not see it, even on a case they read.
_NOT_FOR_EVERY_READER = frozenset({Role.TEACHER, Role.ROUTE_COACH})
_RESTRICTED_KINDS = frozenset({DocumentKind.REPORT})


class DocumentsErased(Exception):
    """The pupil was erased: no document of the case can be opened or attached any more."""


def stage_of(
    stage: DocumentStage | None, step: DocumentStep | None, *, taken_up: bool
) -> DocumentStage:
    """W22: when in the case a document is attached, as the attacher said or, unsaid, as the
    case stands: during the trajectory once a worker took the case up, else with the request.

    A trajectory's step (start conversation, session, evaluation, escalation) belongs to
    the trajectory: named with ``stage=request`` it is refused (422, field ``step``); the
    trajectory stage before the case was taken up is refused as well (409).
    """
    if step is not None and stage is DocumentStage.REQUEST:
        raise Refusal.invalid(
            "W22", "a step of the trajectory does not go with stage 'request'", field="step"
        )
    if stage is None:
        stage = DocumentStage.TRAJECTORY if step is not None or taken_up else stage
    if stage is DocumentStage.TRAJECTORY and not taken_up:
        raise Refusal.conflict(
            "W22", "no worker took the case up yet: there is no trajectory to attach to"
        )
    return stage or DocumentStage.REQUEST


@dataclass(frozen=True)
class AttachDocument:
    """W22: a document for the case; its content is checked and sealed before this."""

    case_id: UUID
    document_id: UUID
    kind: DocumentKind
    media_type: str
    size: int
    sha256: str
    attached_by: str
    attached_by_role: Role
    stage: DocumentStage = DocumentStage.REQUEST
    step: DocumentStep | None = None


@dataclass(frozen=True)
class RemoveDocument:
    case_id: UUID
    document_id: UUID
    reason: DocumentRemovalReason
    removed_by: str
    removed_by_role: Role


def may_read_kind(role: Role, kind: DocumentKind) -> bool:
    """Whether a reader of the case in ``role`` sees documents of ``kind``.

    Every case reader sees the case's documents, except a report (a psychologist's or
    other specialist's): not for the teacher or a route coach (minimal sharing of a child's
    personal data). Out of reach, a document answers as if it did not exist.
    """
    if role not in CASE_ROLES:
        return False
    return kind not in _RESTRICTED_KINDS or role not in _NOT_FOR_EVERY_READER


def attach(state: CaseState, command: AttachDocument, now: datetime) -> list[DocumentAttached]:
    """W22: a document joins the request while the pupil is known and the request stands.

    An erased pupil's case takes no documents (there is no key to seal them with); a
    withdrawn request takes none either: nobody works on it any more.
    """
    if state.erased_at is not None:
        raise DocumentsErased("the pupil of this case was erased")
    if state.status is RequestStatus.WITHDRAWN:
        raise Refusal.conflict(
            "W22", "the request was withdrawn: documents can no longer be attached to it"
        )
    if command.document_id in state.documents:
        raise Refusal.conflict("documents", "this document was attached already")
    return [
        DocumentAttached(
            case_id=command.case_id,
            document_id=command.document_id,
            kind=command.kind,
            media_type=command.media_type,
            size=command.size,
            sha256=command.sha256,
            attached_by=command.attached_by,
            attached_by_role=command.attached_by_role.value,
            attached_at=now,
            stage=command.stage,
            step=command.step,
        )
    ]


def remove(state: CaseState, command: RemoveDocument, now: datetime) -> list[DocumentRemoved]:
    """W22: whoever attached a document removes it, or the school's IB (the school keeps
    the request's documents); a removed document stays listed as removed, without content.
    """
    attached_by = state.documents.get(command.document_id)
    if attached_by is None or command.document_id in state.removed_documents:
        raise Refusal.not_found("documents", "no such document on this case")
    if command.removed_by_role is not Role.IB and command.removed_by != attached_by:
        raise Refusal.forbidden(
            "W22", "only who attached a document, or the school's IB, may remove it"
        )
    return [
        DocumentRemoved(
            case_id=command.case_id,
            document_id=command.document_id,
            reason=command.reason,
            removed_by=command.removed_by,
            removed_at=now,
        )
    ]
