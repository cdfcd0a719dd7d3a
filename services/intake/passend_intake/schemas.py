"""The HTTP API's request and response bodies, with the examples the OpenAPI document shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts.events.intake import ConsentMethod, ProcessingBasis, PupilView
from passend_intake.domain.identity import EMAIL, PHONE, ParentContact, PupilIdentity
from passend_intake.domain.request import RequestedLevel

_ID = r"^[A-Za-z0-9._:-]+$"
# Free text of the request: required, and bounded so nobody pastes a whole file in.
Text = Annotated[str, Field(min_length=1, max_length=4000)]
_CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"


class _Body(BaseModel):
    # Unknown fields are refused (422 naming them): a typo must not pass silently.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubmitRequestBody(_Body):
    """A support request of the school for one pupil, to one named support worker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "school_id": "school-04ab",
                    "addressed_worker_id": "worker-0192",
                    "pupil_ref": "pupil-5e81c2",
                    "pupil": {
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
                    "levels": ["pupil"],
                    "educational_need": "Needs a quiet place to start and a clear day structure.",
                    "tried_in_basic_support": "Visual timetable and a fixed seat for 8 weeks.",
                    "why_stuck": "Outbursts continue; the teacher can't give the attention needed.",
                    "multiple_problems": False,
                    "specialist_advised": True,
                    "processing_basis": "public_task",
                }
            ]
        }
    )

    school_id: str = Field(
        min_length=1, max_length=64, pattern=_ID, description="Must be the caller's own school"
    )
    addressed_worker_id: str = Field(
        min_length=1, max_length=64, pattern=_ID, description="The support worker asked (W24)"
    )
    pupil_ref: str = Field(
        min_length=1,
        max_length=64,
        pattern=_ID,
        description="The school's own reference for the pupil (no name, no number that "
        "identifies the pupil outside the school). Kept only beside the pupil's key and "
        "erased with it: the case carries intake's pseudonym for the pupil instead",
    )
    pupil: PupilIdentity = Field(
        description="Direct identifiers: stored only encrypted with the pupil's own key"
    )
    levels: list[RequestedLevel] = Field(
        min_length=1,
        max_length=5,
        description="What the request is about. At submission only `pupil` (W5); wider "
        "levels come through a reformulation after the start conversation. "
        "`school_organisation` (system guidance) is refused (W5).",
    )
    educational_need: Text = Field(description="The pupil's educational need (W2)")
    tried_in_basic_support: Text = Field(
        description="What the school already tried within basic support (B, S 1-2)"
    )
    why_stuck: Text = Field(description="Why the school is stuck (W4)")
    multiple_problems: bool = Field(description="Several problems at once (feeds W14)")
    specialist_advised: bool = Field(description="Advised by the education specialist (W11)")
    processing_basis: ProcessingBasis = Field(
        default=ProcessingBasis.PUBLIC_TASK,
        description="Legal basis for processing the pupil's data (AVG), apart from the "
        "parents' consent to individual support (W10)",
    )
    teacher_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=_ID,
        description="The pupil's teacher, by their id in the SWV's directory: signals for "
        "the teacher (W18) reach them at their work address",
    )


class RequestCreated(BaseModel):
    """The request was accepted; the case exists from now on."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": _CASE,
                    "status": "submitted",
                    "submitted_at": "2026-09-14T08:30:00Z",
                    "href": f"/requests/{_CASE}",
                }
            ]
        }
    )

    case_id: UUID
    status: Literal["submitted"] = "submitted"
    submitted_at: datetime
    href: str = Field(description="Where the request can be read (eventually consistent)")


class AgreedByIn(_Body):
    role: Literal["ib", "teacher", "support_worker"]
    party_id: str = Field(min_length=1, max_length=64, pattern=_ID)


class ReformulateBody(_Body):
    """The jointly reformulated request (W6, W7): the whole new text, who agreed and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "levels": ["pupil", "teacher"],
                    "educational_need": "Needs predictable transitions between lessons.",
                    "tried_in_basic_support": "Visual timetable for 8 weeks.",
                    "why_stuck": "The teacher lacks a way to prepare transitions.",
                    "agreed_by": [
                        {"role": "ib", "party_id": "ib-7731"},
                        {"role": "support_worker", "party_id": "worker-0192"},
                    ],
                    "reason": "The start conversation showed the question behind the question.",
                }
            ]
        }
    )

    levels: list[RequestedLevel] = Field(min_length=1, max_length=5)
    educational_need: Text
    tried_in_basic_support: Text
    why_stuck: Text
    agreed_by: list[AgreedByIn] = Field(min_length=2, max_length=10)
    reason: Text


class WithdrawBody(_Body):
    """Why the school withdraws its request."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Solved within basic support."}]}
    )

    reason: Text


class ConsentRequestBody(_Body):
    """Ask parents for consent to individual support (W10)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "method": "personal_link",
                    "parent_refs": ["guardian-1f4e"],
                    "expires_in_hours": 168,
                },
                {"method": "start_conversation", "parent_refs": ["guardian-1f4e"]},
            ]
        }
    )

    method: ConsentMethod
    parent_refs: list[str] = Field(min_length=1, max_length=4)
    expires_in_hours: int | None = Field(
        default=None,
        ge=1,
        le=336,
        description="Required for `personal_link`: the link's validity, at most 14 days",
    )


class IssuedLink(BaseModel):
    """One parent's personal link."""

    parent_ref: str
    token: str = Field(description="Shown once; give it to this parent only")
    url: str = Field(description="Relative URL the parent opens")
    expires_at: datetime


class ConsentRequestAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": _CASE,
                    "status": "requested",
                    "links": [
                        {
                            "parent_ref": "guardian-1f4e",
                            "token": "kq1X...",
                            "url": "/consent/kq1X...",
                            "expires_at": "2026-09-21T08:35:00Z",
                        }
                    ],
                }
            ]
        }
    )

    case_id: UUID
    status: Literal["requested"] = "requested"
    links: list[IssuedLink] = Field(
        default_factory=list, description="One personal link per parent, for `personal_link`"
    )


class ConsentAnswerBody(_Body):
    """A parent's answer given in person, recorded by the IB or the support worker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"parent_ref": "guardian-1f4e", "method": "start_conversation"}]
        }
    )

    parent_ref: str = Field(min_length=1, max_length=64, pattern=_ID)
    method: Literal["start_conversation", "support_team_meeting"]


class ConsentWithdrawalBody(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"parent_ref": "guardian-1f4e"}]})

    parent_ref: str = Field(min_length=1, max_length=64, pattern=_ID)


class PupilHeardBody(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"view": "agrees"}]})

    view: PupilView


class ParentContactBody(_Body):
    """W10: how the parent is reached from now on; both replace what the request gave."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"email": "j.devries@example.nl", "phone": None}]},
    )

    email: str | None = Field(
        default=None, max_length=254, pattern=EMAIL, description="The parent's e-mail address"
    )
    phone: str | None = Field(
        default=None, max_length=20, pattern=PHONE, description="The parent's phone number"
    )


class Accepted(BaseModel):
    """The command was recorded as an event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"case_id": _CASE, "event_type": "nl.passend.intake.RequestWithdrawn.v1"}]
        }
    )

    case_id: UUID
    event_type: str
    version: int = Field(description="The case's version after this event")


class LinkView(BaseModel):
    """What the parent sees behind a link: what is asked, and only what names it for them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "state": "open",
                    "purpose": "consent",
                    "expires_at": "2026-09-21T08:35:00Z",
                    "question": "Geeft u toestemming voor individuele begeleiding?",
                    "school_name": "De Havenmeester",
                    "child_first_name": "Sam",
                    "support": "individuele begeleiding door een onderwijsondersteuner van "
                    "het samenwerkingsverband",
                }
            ]
        }
    )

    state: str = Field(description="open, used, expired or voided")
    purpose: str = Field(
        default="consent", description="consent (answer the request) or withdrawal (W10)"
    )
    expires_at: datetime
    question: str
    school_name: str | None = Field(
        default=None, description="The school that asks (None while the directory lacks it)"
    )
    child_first_name: str | None = Field(
        default=None,
        description="So the parent knows which child it is about; None once the pupil was erased",
    )
    support: str = Field(default="", description="Which kind of support is asked, in Dutch")


class OpenLink(BaseModel):
    """A parent's link that can still be used, for the school to hand over in person."""

    parent_ref: str
    purpose: str = Field(description="consent or withdrawal")
    token: str
    url: str = Field(description="Relative URL the parent opens")
    expires_at: datetime


class OpenLinks(BaseModel):
    """The case's usable personal links: the fallback when an e-mail did not arrive."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": _CASE,
                    "links": [
                        {
                            "parent_ref": "guardian-1f4e",
                            "purpose": "consent",
                            "token": "kq1X...",
                            "url": "/consent/kq1X...",
                            "expires_at": "2026-09-21T08:35:00Z",
                        }
                    ],
                }
            ]
        }
    )

    case_id: UUID
    links: list[OpenLink]


class DeliveryLink(BaseModel):
    purpose: str
    token: str | None = Field(description="Only while the link can still be used")
    expires_at: datetime
    state: str = Field(description="open, used, expired or voided")


class ParentDelivery(BaseModel):
    """What the notifications service needs to tell one parent of one case, at delivery."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": _CASE,
                    "parent_ref": "guardian-1f4e",
                    "name": "J. Jansen",
                    "email": "j.jansen@example.nl",
                    "school_name": "De Havenmeester",
                    "child_first_name": "Sam",
                    "link": {
                        "purpose": "consent",
                        "token": "kq1X...",
                        "expires_at": "2026-09-21T08:35:00Z",
                        "state": "open",
                    },
                }
            ]
        }
    )

    case_id: UUID
    parent_ref: str
    name: str
    email: str | None = Field(description="None: the request gave no e-mail address")
    school_name: str | None = None
    child_first_name: str
    link: DeliveryLink | None = Field(
        default=None, description="The link the causing event made for this parent, if any"
    )


__all__ = ["ParentContact", "PupilIdentity"]
