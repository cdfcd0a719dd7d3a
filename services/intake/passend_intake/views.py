"""What the read endpoints answer: requests, one request with its history, consent state."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

_CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"
_CONSENT_EXAMPLE: dict[str, Any] = {
    "case_id": _CASE,
    "status": "confirmed",
    "individual_support_allowed": True,
    "method": "personal_link",
    "parents_asked": ["guardian-1f4e"],
    "requested_by": "ib-7731",
    "requested_at": "2026-09-14T08:35:00Z",
    "answered_by": "guardian-1f4e",
    "answered_at": "2026-09-15T19:02:00Z",
    "withdrawn_at": None,
    "link_expires_at": "2026-09-17T08:35:00Z",
    "pupil_heard_at": None,
    "pupil_view": None,
}
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "case_id": _CASE,
    "school_id": "school-04ab",
    "ib_id": "ib-7731",
    "addressed_worker_id": "worker-0192",
    "pupil_ref": "lln-5e81c2a04b17",
    "school_pupil_ref": "ll-2024-0193",
    "levels": ["pupil"],
    "status": "claimed",
    "consent_status": "confirmed",
    "submitted_at": "2026-09-14T08:30:00Z",
}


class ConsentView(BaseModel):
    """Consent to individual support (W10) for one case; not the processing basis."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CONSENT_EXAMPLE]})

    case_id: UUID
    status: str = Field(description="not_requested, requested, confirmed, refused or withdrawn")
    individual_support_allowed: bool = Field(description="True only while consent is confirmed")
    method: str | None = None
    parents_asked: list[str] = Field(default_factory=list)
    requested_by: str | None = None
    requested_at: datetime | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    withdrawn_at: datetime | None = None
    link_expires_at: datetime | None = None
    pupil_heard_at: datetime | None = Field(default=None, description="R: pupil 12+ heard")
    pupil_view: str | None = None


class ProgressView(BaseModel):
    routed_to: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    trajectory_opened_at: datetime | None = None


class RequestSummary(BaseModel):
    """One request in a school's list."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    case_id: UUID
    school_id: str
    ib_id: str
    addressed_worker_id: str
    pupil_ref: str = Field(description="Intake's pseudonym of the pupil, as every event names it")
    school_pupil_ref: str | None = Field(
        default=None,
        description="The school's own reference of the pupil; null once the pupil is erased",
    )
    levels: list[str]
    status: str = Field(description="submitted, claimed, in_trajectory or withdrawn")
    consent_status: str
    submitted_at: datetime


class FoundRequest(RequestSummary):
    """A request a search found; found by the pupil's name, it carries that name."""

    pupil_name: str | None = Field(
        default=None,
        description="The pupil's name, decrypted for this answer, only when the request "
        "was found by it (roles that may search by name)",
    )


class ParentView(BaseModel):
    parent_ref: str
    name: str
    email: str | None = None
    phone: str | None = None


class PupilIdentityView(BaseModel):
    """The pupil's identity, decrypted for this answer only; ``[gewist]`` once erased."""

    erased: bool
    name: str
    date_of_birth: date | None = None
    parents: list[ParentView] = Field(default_factory=list)


class HistoryEntry(BaseModel):
    version: int
    event_type: str
    occurred_at: datetime
    actor: str
    on_behalf_of: str | None = None
    data: dict[str, Any]


class RequestDetail(RequestSummary):
    """One request, complete: current text, pupil, consent, progress and every event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SUMMARY_EXAMPLE,
                    "parent_refs": ["guardian-1f4e"],
                    "educational_need": "Needs a quiet place to start and a clear day structure.",
                    "tried_in_basic_support": "Visual timetable and a fixed seat for 8 weeks.",
                    "why_stuck": "Outbursts continue; the teacher can't give the attention needed.",
                    "multiple_problems": False,
                    "specialist_advised": True,
                    "processing_basis": "public_task",
                    "withdrawn_at": None,
                    "withdrawal_reason": None,
                    "pupil": {
                        "erased": False,
                        "name": "Sam Jansen",
                        "date_of_birth": "2016-04-12",
                        "parents": [
                            {
                                "parent_ref": "guardian-1f4e",
                                "name": "J. Jansen",
                                "email": "j.jansen@example.nl",
                                "phone": "0612345678",
                            }
                        ],
                    },
                    "consent": _CONSENT_EXAMPLE,
                    "progress": {
                        "routed_to": "worker-0192",
                        "claimed_by": "worker-0192",
                        "claimed_at": "2026-09-15T10:00:00Z",
                        "trajectory_opened_at": None,
                    },
                    "history": [
                        {
                            "version": 1,
                            "event_type": "nl.passend.intake.RequestSubmitted.v1",
                            "occurred_at": "2026-09-14T08:30:00Z",
                            "actor": "ib-7731",
                            "on_behalf_of": None,
                            "data": {"case_id": _CASE, "levels": ["pupil"]},
                        }
                    ],
                }
            ]
        }
    )

    parent_refs: list[str]
    educational_need: str
    tried_in_basic_support: str
    why_stuck: str
    multiple_problems: bool
    specialist_advised: bool
    processing_basis: str
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    pupil: PupilIdentityView
    consent: ConsentView
    progress: ProgressView
    history: list[HistoryEntry]


def request_status(withdrawn: bool, progress: ProgressView) -> str:
    """The request's status as a school sees it, from intake's and others' facts."""
    if withdrawn:
        return "withdrawn"
    if progress.trajectory_opened_at is not None:
        return "in_trajectory"
    if progress.claimed_by is not None:
        return "claimed"
    return "submitted"
