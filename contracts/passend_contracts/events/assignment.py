"""Events the assignment service publishes: routing and claims."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from passend_contracts import topics
from passend_contracts.events.base import EventPayload


class RequestRouted(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.RequestRouted.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A new request landed in the inbox of the support worker it was addressed to, who is "
        "responsible for it until someone claims it (W24, W25)."
    )

    case_id: UUID
    swv_id: str
    school_id: str
    receiving_worker_id: str
    routed_at: datetime


class CaseClaimed(EventPayload):
    event_type: ClassVar[str] = "nl.passend.assignment.CaseClaimed.v1"
    topic: ClassVar[str] = topics.ASSIGNMENT
    meaning: ClassVar[str] = (
        "A support worker claimed the case and from now on leads the support; the IB must be "
        "contacted within one working week (W25, W26)."
    )

    case_id: UUID
    school_id: str
    worker_id: str
    claimed_at: datetime
