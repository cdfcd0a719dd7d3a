"""Events the intake service publishes: support requests and parental consent."""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from passend_contracts import topics
from passend_contracts.events.base import EventPayload


class SupportLevel(StrEnum):
    """What the request is about (W5): the pupil first, wider after exploration."""

    PUPIL = "pupil"
    TEACHER = "teacher"
    GROUP = "group"
    TEAM = "team"


class RequestSubmitted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.RequestSubmitted.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "An IB asked one named support worker for help with a pupil (W1-W5, W24). "
        "Carries no direct identifiers of the pupil or parents."
    )

    case_id: UUID
    school_id: str = Field(min_length=1)
    ib_id: str = Field(min_length=1, description="The submitting IB (intern begeleider)")
    addressed_worker_id: str = Field(min_length=1, description="The support worker asked (W24)")
    pupil_ref: str = Field(min_length=1, description="Pseudonymous pupil reference of the school")
    levels: list[SupportLevel] = Field(min_length=1)
    educational_need: str
    tried_in_basic_support: str
    why_stuck: str = Field(description="Why the school is stuck (handelingsverlegenheid, W4)")
    multiple_problems: bool = Field(description="The school sees several problems at once (W14)")
    specialist_advised: bool = Field(description="Advised by the education specialist (W11)")
    submitted_at: datetime


class ConsentMethod(StrEnum):
    START_CONVERSATION = "start_conversation"
    SUPPORT_TEAM_MEETING = "support_team_meeting"
    PERSONAL_LINK = "personal_link"


class ConsentRequested(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentRequested.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "The school asked the parents for consent to individual support (W10)."

    case_id: UUID
    requested_by: str
    requested_at: datetime


class ConsentConfirmed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentConfirmed.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = (
        "A parent or guardian consented to individual support for the pupil (W10)."
    )

    case_id: UUID
    confirmed_by: str = Field(description="Pseudonymous reference of the parent or guardian")
    method: ConsentMethod
    confirmed_at: datetime


class ConsentRefused(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentRefused.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "The parents refused consent to individual support (W10)."

    case_id: UUID
    refused_by: str
    refused_at: datetime


class ConsentWithdrawn(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.ConsentWithdrawn.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "Consent was withdrawn; individual support pauses (W10)."

    case_id: UUID
    withdrawn_by: str
    withdrawn_at: datetime
