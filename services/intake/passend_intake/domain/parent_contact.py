"""W10: the parents are reached at the contact the school gave; a wrong one is corrected.

The consent link and every later message go to the address in the pupil's sealed identity
(intake owns the parents' contact details). A correction seals the whole identity again
with the pupil's key; the shell (``passend_intake.parent_contact_commands``) opens and
seals it, this rule decides whether the case may take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from passend_backbone.commands import Refusal
from passend_contracts.events.intake import EncryptedIdentity, ParentContactCorrected
from passend_intake.domain.state import CaseState, RequestStatus


@dataclass(frozen=True)
class CorrectParentContact:
    """W10: ``parent_ref`` is reached at a corrected contact, sealed in ``encrypted_identity``."""

    case_id: UUID
    parent_ref: str
    corrected_by: str
    encrypted_identity: EncryptedIdentity


def require_correctable(state: CaseState, parent_ref: str) -> None:
    """W10: a parent named in the open request may get a corrected contact; not once the
    request was withdrawn or the pupil erased."""
    if state.status is RequestStatus.NEW:
        raise Refusal.not_found("case_reach", "no such case")
    # An erasure also withdraws the request: it is named first.
    if state.erased_at is not None or state.encrypted_identity is None:
        raise Refusal.conflict("erasure", "the pupil was erased: the parents' details are gone")
    if state.status is RequestStatus.WITHDRAWN:
        raise Refusal.conflict(
            "W10", "the request was withdrawn: nobody is asked or told anything about it any more"
        )
    if parent_ref not in state.parent_refs:
        raise Refusal.invalid(
            "W10",
            f"{parent_ref} is not a parent named in the request ({sorted(state.parent_refs)})",
            field="parent_ref",
        )


def correct_parent_contact(
    state: CaseState, cmd: CorrectParentContact, now: datetime
) -> list[ParentContactCorrected]:
    """W10: the parent is reached at the corrected contact (:func:`require_correctable`)."""
    require_correctable(state, cmd.parent_ref)
    return [
        ParentContactCorrected(
            case_id=cmd.case_id,
            parent_ref=cmd.parent_ref,
            corrected_by=cmd.corrected_by,
            corrected_at=now,
            encrypted_identity=cmd.encrypted_identity,
        )
    ]
