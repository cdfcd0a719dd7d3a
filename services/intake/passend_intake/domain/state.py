"""The state of one case as intake knows it, folded from intake's own events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    CaseErased,
    ConsentConfirmed,
    ConsentMethod,
    ConsentRefused,
    ConsentRequested,
    ConsentWithdrawn,
    DocumentAttached,
    DocumentRemoved,
    EncryptedIdentity,
    ParentContactCorrected,
    PupilHeard,
    RequestFields,
    RequestReformulated,
    RequestSubmitted,
    RequestWithdrawn,
)


class RequestStatus(StrEnum):
    NEW = "new"  # no events yet: the case does not exist
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class ConsentStatus(StrEnum):
    NOT_REQUESTED = "not_requested"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class CaseState(BaseModel):
    """Everything intake's decisions about one case need."""

    model_config = ConfigDict(frozen=True)

    version: int = 0
    status: RequestStatus = RequestStatus.NEW
    school_id: str = ""
    ib_id: str = ""
    addressed_worker_id: str = ""  # scopes who may act on the case (auth policy)
    pupil_ref: str = ""
    parent_refs: tuple[str, ...] = ()
    fields: RequestFields | None = None
    encrypted_identity: EncryptedIdentity | None = None
    withdrawn_at: datetime | None = None
    consent: ConsentStatus = ConsentStatus.NOT_REQUESTED
    consent_method: ConsentMethod | None = None
    consent_asked: tuple[str, ...] = ()
    consent_changed_at: datetime | None = None
    pupil_heard: bool = False
    erased_at: datetime | None = None  # the pupil was erased (CaseErased)
    documents: dict[UUID, str] = {}  # every document ever attached -> who attached it
    removed_documents: frozenset[UUID] = frozenset()


def evolve(state: CaseState, event: EventPayload) -> CaseState:
    """The state after ``event``; events of other types only move the version on."""
    changes: dict[str, object] = {"version": state.version + 1}
    match event:
        case RequestSubmitted():
            changes |= {
                "status": RequestStatus.SUBMITTED,
                "school_id": event.school_id,
                "ib_id": event.ib_id,
                "addressed_worker_id": event.addressed_worker_id,
                "pupil_ref": event.pupil_ref,
                "parent_refs": tuple(event.parent_refs),
                "fields": RequestFields(
                    levels=event.levels,
                    educational_need=event.educational_need,
                    tried_in_basic_support=event.tried_in_basic_support,
                    why_stuck=event.why_stuck,
                ),
                "encrypted_identity": event.encrypted_identity,
            }
        case RequestReformulated():
            changes["fields"] = event.current
        case RequestWithdrawn():
            changes |= {"status": RequestStatus.WITHDRAWN, "withdrawn_at": event.withdrawn_at}
        case CaseErased():
            changes["erased_at"] = event.erased_at
        case ConsentRequested():
            changes |= {
                "consent": ConsentStatus.REQUESTED,
                "consent_method": event.method,
                "consent_asked": tuple(event.parent_refs) or state.parent_refs,
                "consent_changed_at": event.requested_at,
            }
        case ConsentConfirmed():
            changes |= {
                "consent": ConsentStatus.CONFIRMED,
                "consent_method": event.method,
                "consent_changed_at": event.confirmed_at,
            }
        case ConsentRefused():
            changes |= {"consent": ConsentStatus.REFUSED, "consent_changed_at": event.refused_at}
        case ConsentWithdrawn():
            changes |= {
                "consent": ConsentStatus.WITHDRAWN,
                "consent_changed_at": event.withdrawn_at,
            }
        case PupilHeard():
            changes["pupil_heard"] = True
        case ParentContactCorrected():
            changes["encrypted_identity"] = event.encrypted_identity
        case DocumentAttached():
            changes["documents"] = {**state.documents, event.document_id: event.attached_by}
        case DocumentRemoved():
            changes["removed_documents"] = state.removed_documents | {event.document_id}
    return state.model_copy(update=changes)


def fold(events: Iterable[EventPayload], state: CaseState | None = None) -> CaseState:
    """Replay ``events`` onto ``state`` (an empty case when not given)."""
    current = state or CaseState()
    for event in events:
        current = evolve(current, event)
    return current
