"""Events the intake service publishes: support requests and parental consent."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts import topics
from passend_contracts.events.base import EventPayload, PupilText

_CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"


class SupportLevel(StrEnum):
    """What the request is about (W5): the pupil first, wider after exploration."""

    PUPIL = "pupil"
    TEACHER = "teacher"
    GROUP = "group"
    TEAM = "team"


class ProcessingBasis(StrEnum):
    """The legal basis (AVG art. 6) for processing the pupil's data.

    Kept apart from the education-law consent to individual support (W10): refusing or
    withdrawing that consent does not change the basis on which the request is kept.
    """

    PUBLIC_TASK = "public_task"
    LEGAL_OBLIGATION = "legal_obligation"
    CONSENT = "consent"


class EncryptedIdentity(BaseModel):
    """The pupil's direct identifiers, AES-GCM encrypted with the pupil's own key.

    Deleting that key (held by intake, never on the bus) erases the pupil from every copy
    of the log (crypto-shredding). Only intake can decrypt.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ciphertext: str = Field(description="Base64 AES-GCM ciphertext (with tag) of the identity")
    nonce: str = Field(description="Base64 96-bit nonce")
    key_id: str = Field(description="Id of the pupil key that encrypted it")


class RequestSubmitted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.RequestSubmitted.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "An IB asked one named support worker for help with a pupil (W1-W5, W24). "
        "Carries no direct identifiers of the pupil or parents in the clear."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "school_id": "school-04ab",
        "ib_id": "ib-7731",
        "addressed_worker_id": "worker-0192",
        "pupil_ref": "lln-5e81c2a04b17",
        "levels": ["pupil"],
        "educational_need": "Needs a quiet place to start working and a clear day structure.",
        "tried_in_basic_support": "Visual timetable and a fixed seat near the teacher for 8 weeks.",
        "why_stuck": "Outbursts continue and the teacher cannot give the attention needed.",
        "multiple_problems": False,
        "specialist_advised": True,
        "submitted_at": "2026-09-14T08:30:00+00:00",
        "parent_refs": ["guardian-1f4e"],
        "processing_basis": "public_task",
        "encrypted_identity": {
            "ciphertext": "q1w2e3r4t5y6u7i8o9p0",
            "nonce": "bm9uY2Utbm9uY2U=",
            "key_id": "0b7f1c1e-5d2a-4c8e-9f3a-6e2d1b0c9a88",
        },
    }

    case_id: UUID
    school_id: str = Field(min_length=1)
    ib_id: str = Field(min_length=1, description="The submitting IB (intern begeleider)")
    addressed_worker_id: str = Field(min_length=1, description="The support worker asked (W24)")
    pupil_ref: str = Field(
        min_length=1,
        description="Intake's pseudonym of the pupil (issue 20). The school's own reference "
        "stays beside the pupil's key in intake and is erased with it, so no copy of this "
        "event links the case to the school's records once the pupil is erased",
    )
    levels: list[SupportLevel] = Field(min_length=1)
    educational_need: PupilText
    tried_in_basic_support: PupilText
    why_stuck: PupilText = Field(description="Why the school is stuck (handelingsverlegenheid, W4)")
    multiple_problems: bool = Field(description="The school sees several problems at once (W14)")
    specialist_advised: bool = Field(description="Advised by the education specialist (W11)")
    submitted_at: datetime
    parent_refs: list[str] = Field(
        default_factory=list,
        description="Pseudonymous references of the parents or guardians (asked for consent)",
    )
    processing_basis: ProcessingBasis = Field(
        default=ProcessingBasis.PUBLIC_TASK,
        description="Legal basis for processing the data; not the W10 consent",
    )
    encrypted_identity: EncryptedIdentity | None = Field(
        default=None, description="Name, date of birth and parents' contacts, encrypted"
    )
    teacher_id: str | None = Field(
        default=None,
        description="The pupil's teacher, by their id in the SWV's directory (W18), if named",
    )
    need_areas: list[str] | None = Field(
        default=None,
        description=(
            "The SWV's expertise areas the request's words signal (W24), found by intake, "
            "which alone reads the sealed texts; routing ranks on them"
        ),
    )


class RequestFields(BaseModel):
    """The reformulable text of a request: what is asked, at which level (W5-W7)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: list[SupportLevel] = Field(min_length=1)
    educational_need: PupilText
    tried_in_basic_support: PupilText
    why_stuck: PupilText


class AgreedBy(BaseModel):
    """One party who agreed to a reformulation (W7: IB/teacher and support worker jointly)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(description="ib, teacher or support_worker")
    party_id: str = Field(min_length=1, description="Pseudonymous id of the person")


class RequestReformulated(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.RequestReformulated.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "After the start conversation school and support worker jointly reformulated the "
        "request; the old and the new text are both kept (W6, W7)."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "previous": {
            "levels": ["pupil"],
            "educational_need": "Needs a quiet place to start working.",
            "tried_in_basic_support": "Visual timetable for 8 weeks.",
            "why_stuck": "Outbursts continue.",
        },
        "current": {
            "levels": ["pupil", "teacher"],
            "educational_need": "Needs predictable transitions between lessons.",
            "tried_in_basic_support": "Visual timetable for 8 weeks.",
            "why_stuck": "The teacher lacks a way to prepare transitions.",
        },
        "agreed_by": [
            {"role": "ib", "party_id": "ib-7731"},
            {"role": "support_worker", "party_id": "worker-0192"},
        ],
        "reason": "The start conversation showed the question behind the question.",
        "reformulated_at": "2026-09-21T13:00:00+00:00",
    }

    case_id: UUID
    previous: RequestFields
    current: RequestFields
    agreed_by: list[AgreedBy] = Field(min_length=2)
    reason: PupilText = Field(min_length=1)
    reformulated_at: datetime


class RequestWithdrawn(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.RequestWithdrawn.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "The school withdrew its request before a trajectory started; nobody works on it."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "withdrawn_by": "ib-7731",
        "reason": "The school found a solution within basic support.",
        "withdrawn_at": "2026-09-16T09:00:00+00:00",
    }

    case_id: UUID
    withdrawn_by: str
    reason: PupilText = Field(
        min_length=1,
        description="The school's words (sealed: they may name the child), or, when the "
        "pupil's erasure withdrew the request, the erasure's fixed text",
    )
    withdrawn_at: datetime
    by_erasure: bool = Field(
        default=False,
        description="Withdrawn because the pupil was erased (issue 20): services that "
        "can't open the sealed reason say so in their own words",
    )


class ConsentMethod(StrEnum):
    START_CONVERSATION = "start_conversation"
    SUPPORT_TEAM_MEETING = "support_team_meeting"
    PERSONAL_LINK = "personal_link"


class ConsentRequested(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentRequested.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "The school asked the parents for consent to individual support (W10)."
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "requested_by": "ib-7731",
        "requested_at": "2026-09-14T08:35:00+00:00",
        "parent_refs": ["guardian-1f4e"],
        "method": "personal_link",
        "link_expires_at": "2026-09-21T08:35:00+00:00",
    }

    case_id: UUID
    requested_by: str
    requested_at: datetime
    parent_refs: list[str] = Field(
        default_factory=list, description="The parents or guardians asked (pseudonymous)"
    )
    method: ConsentMethod | None = Field(default=None, description="How consent is to be given")
    link_expires_at: datetime | None = Field(
        default=None, description="For a personal link: when the link stops working"
    )


class ConsentConfirmed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentConfirmed.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "A parent or guardian consented to individual support for the pupil (W10)."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "confirmed_by": "guardian-1f4e",
        "method": "personal_link",
        "confirmed_at": "2026-09-15T19:02:00+00:00",
        "pupil_heard": False,
    }

    case_id: UUID
    confirmed_by: str = Field(description="Pseudonymous reference of the parent or guardian")
    method: ConsentMethod
    confirmed_at: datetime
    pupil_heard: bool = Field(
        default=False, description="The pupil (12 or older) was heard before consent (R)"
    )


class ConsentRefused(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentRefused.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "The parents refused consent to individual support (W10)."
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "refused_by": "guardian-1f4e",
        "refused_at": "2026-09-15T19:02:00+00:00",
        "method": "personal_link",
    }

    case_id: UUID
    refused_by: str
    refused_at: datetime
    method: ConsentMethod | None = None


class ConsentWithdrawn(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentWithdrawn.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "Consent was withdrawn; individual support pauses (W10)."
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "withdrawn_by": "guardian-1f4e",
        "withdrawn_at": "2026-11-02T10:15:00+00:00",
        "recorded_by": "ib-7731",
    }

    case_id: UUID
    withdrawn_by: str
    withdrawn_at: datetime
    recorded_by: str | None = Field(
        default=None, description="Who recorded the parent's withdrawal, if not the parent"
    )


class ErasureReason(StrEnum):
    """Why a pupil was erased."""

    REQUEST = "request"
    RETENTION = "retention"


class PupilView(StrEnum):
    """What the pupil said when heard (R)."""

    AGREES = "agrees"
    DISAGREES = "disagrees"
    NO_VIEW = "no_view"


class PupilHeard(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.PupilHeard.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "The pupil, 12 or older, was heard about the individual support (R); recorded before "
        "the parents' consent counts."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "heard_by": "ib-7731",
        "view": "agrees",
        "heard_at": "2026-09-14T10:00:00+00:00",
    }

    case_id: UUID
    heard_by: str
    view: PupilView
    heard_at: datetime


class ParentContactCorrected(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ParentContactCorrected.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "The school corrected how a parent is reached (e-mail address, phone number), so "
        "that the consent link and every later message reach them (W10). The pupil's whole "
        "identity, sealed again with the pupil's key, replaces the one before; nothing is "
        "in the clear."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "parent_ref": "guardian-1f4e",
        "corrected_by": "ib-7731",
        "corrected_at": "2026-09-15T09:10:00+00:00",
        "encrypted_identity": {
            "ciphertext": "z9x8c7v6b5n4m3",
            "nonce": "bm9uY2UtdHdvLXg=",
            "key_id": "0b7f1c1e-5d2a-4c8e-9f3a-6e2d1b0c9a88",
        },
    }

    case_id: UUID
    parent_ref: str = Field(min_length=1, description="The parent whose contact was corrected")
    corrected_by: str = Field(min_length=1)
    corrected_at: datetime
    encrypted_identity: EncryptedIdentity = Field(
        description="The pupil's identity with the corrected contact, sealed with the pupil's key"
    )


class PupilErased(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.PupilErased.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "The pupil's key was deleted (crypto-shredding): on request or when the retention "
        "period after the case closed had passed. From now on nobody can read the pupil's "
        "direct identifiers in any copy of the log. Services that keep contact details of "
        "the pupil's parents delete them."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "pupil_ref": "lln-0193a2c4e5f6",
        "key_id": "5b0f7e8e-8f3e-4a51-9d0e-2b1f6a9c4d21",
        "reason": "retention",
        "category": "school",
        "erased_by": "passend-retention",
        "erased_at": "2029-08-01T02:00:00+00:00",
    }

    pupil_ref: str = Field(min_length=1, description="Intake's pseudonym of the pupil")
    key_id: UUID = Field(description="The deleted key; ciphertexts under it are unreadable")
    reason: ErasureReason
    category: str | None = Field(default=None, description="Retention data category")
    erased_by: str
    erased_at: datetime
    request_id: UUID | None = Field(
        default=None, description="The erasure request it carried out (reason `request`)"
    )
    requested_by: str | None = Field(
        default=None,
        max_length=200,
        description="Who asked for the erasure, as the privacy officer recorded it",
    )
    confirmed_by: str | None = Field(
        default=None, description="The second privacy officer, where the SWV requires one"
    )
    grounds: str | None = Field(
        default=None, max_length=2000, description="Why: the legal ground of the decision"
    )


class ErasureRequested(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ErasureRequested.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "A privacy officer recorded a request to erase a pupil (AVG art. 17) and decided to "
        "grant it. Where the SWV requires a second officer, the erasure waits for their "
        "confirmation; otherwise `PupilErased` follows at once."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "request_id": "0d7f7c1e-3a55-4f7e-9a0b-6c1d2e3f4a5b",
        "pupil_ref": "lln-0193a2c4e5f6",
        "requested_by": "Moeder van de leerling, per brief van 2 december",
        "received_on": "2026-12-02",
        "grounds": "AVG art. 17 lid 1 sub b: de toestemming is ingetrokken",
        "decided_by": "fg-sanne",
        "decided_at": "2026-12-04T10:00:00+00:00",
        "needs_confirmation": True,
    }

    request_id: UUID
    pupil_ref: str = Field(min_length=1, description="Intake's pseudonym of the pupil")
    requested_by: str = Field(min_length=1, max_length=200)
    received_on: date
    grounds: str = Field(min_length=1, max_length=2000)
    decided_by: str
    decided_at: datetime
    needs_confirmation: bool


class ErasureConfirmed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ErasureConfirmed.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "A second privacy officer confirmed a pending erasure request; `PupilErased` "
        "follows in the same transaction."
    )

    request_id: UUID
    confirmed_by: str
    confirmed_at: datetime


class ErasureRejected(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ErasureRejected.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "The second privacy officer did not confirm a pending erasure request; nothing was erased."
    )

    request_id: UUID
    rejected_by: str
    reason: str = Field(min_length=1, max_length=2000)
    rejected_at: datetime


class CaseErased(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.CaseErased.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "The pupil of this case was erased (`PupilErased`): the case's own history records "
        "that it happened, when, why and by whom. What stays of the case is pseudonymous; "
        "an open request was withdrawn just before (`RequestWithdrawn`), which ends the "
        "trajectory in every service."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "reason": "request",
        "requested_by": "Moeder van de leerling, per brief van 2 december",
        "erased_by": "fg-sanne",
        "confirmed_by": "fg-ahmed",
        "erased_at": "2026-12-04T10:05:00+00:00",
    }

    case_id: UUID
    reason: ErasureReason
    requested_by: str | None = None
    erased_by: str
    confirmed_by: str | None = None
    erased_at: datetime


class DocumentKind(StrEnum):
    """What an attachment of a request is (issue 21): the school's and the SWV's documents."""

    GROEIDOCUMENT = "groeidocument"
    OPP = "opp"
    TEST_RESULT = "test_result"
    REPORT = "report"
    CONSENT_FORM = "consent_form"
    MINUTES = "minutes"
    OTHER = "other"


class DocumentStage(StrEnum):
    """When in the case a document was attached (issue 21): with the school's request, or
    during the trajectory that followed the claim."""

    REQUEST = "request"
    TRAJECTORY = "trajectory"


class DocumentStep(StrEnum):
    """The step of the trajectory a document belongs to, when it belongs to one."""

    START_CONVERSATION = "start_conversation"
    SESSION = "session"
    EVALUATION = "evaluation"
    ESCALATION = "escalation"


class DocumentRemovalReason(StrEnum):
    """Why an attachment was removed (a code: free text about the child stays out of events)."""

    WRONG_CASE = "wrong_case"
    REPLACED = "replaced"
    NOT_NEEDED = "not_needed"
    OTHER = "other"


_DOCUMENT = "9d4b2c1e-5f7a-4b8e-a1c3-6e2f0d9b7a45"
_SHA256 = "5f2b3c0a9e1d4f6b8a7c2e0d1b3f5a7c9e2d4b6f8a0c1e3d5b7f9a2c4e6d8b0a"


class DocumentAttached(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.DocumentAttached.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "A document was attached to the case (W22: the school's groeidocument or OPP, a "
        "test result, a report, the signed consent, minutes), with the request or during the "
        "trajectory (`stage`, and the trajectory's `step` it belongs to). The content, its "
        "file name and its description are stored by intake only, encrypted with the pupil's "
        "key; the event carries what proves which document it was (size, SHA-256), never what "
        "it says."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "document_id": _DOCUMENT,
        "kind": "groeidocument",
        "media_type": "application/pdf",
        "size": 48213,
        "sha256": _SHA256,
        "attached_by": "ib-7731",
        "attached_by_role": "ib",
        "attached_at": "2026-09-14T08:40:00+00:00",
        "stage": "request",
        "step": None,
    }

    case_id: UUID
    document_id: UUID
    kind: DocumentKind
    media_type: str = Field(description="The type found in the content (not the file name)")
    size: int = Field(ge=1, description="Bytes of the document as uploaded")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the document")
    attached_by: str
    attached_by_role: str
    attached_at: datetime
    # Added after v1 went out: an event without them was attached with the request.
    stage: DocumentStage = Field(
        default=DocumentStage.REQUEST,
        description="With the request, or during the trajectory (events without it: request)",
    )
    step: DocumentStep | None = Field(
        default=None, description="The trajectory's step it belongs to, when one was named"
    )


class DocumentRemoved(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.DocumentRemoved.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "An attachment was removed from the request: its encrypted content is deleted, "
        "the fact that it was there (and who removed it, when and why) stays."
    )
    example: ClassVar[dict[str, Any] | None] = {
        "case_id": _CASE,
        "document_id": _DOCUMENT,
        "reason": "wrong_case",
        "removed_by": "ib-7731",
        "removed_at": "2026-09-14T09:00:00+00:00",
    }

    case_id: UUID
    document_id: UUID
    reason: DocumentRemovalReason
    removed_by: str
    removed_at: datetime
