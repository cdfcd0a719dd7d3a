"""What an outside organisation reads: the integration channels' allow-list, thin notifications,
and the headers of a dead letter.

This is the public contract of the channels the integration gateway writes
(``passend.integration.<region>`` and ``passend.integration.<region>.thin``) and of the
dead-letter topics operators read; the AsyncAPI document is generated from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    TeamNODecisionRecorded,
    TrajectoryClosed,
    YouthCareNoted,
)

# R: the municipality sits in Team NO and runs the wijkteam. It learns that a case of its
# region escalated and what Team NO decided, when youth care (its wijkteam) got involved,
# and when the trajectory ended - nothing of the request, the plan or the sessions.
# An allow-list, never a block-list: a type or field added to the contracts later reaches
# no municipality until it is added here on purpose. Required fields of a type stay.
MUNICIPALITY_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    EscalatedToTeamNO.event_type: frozenset(
        {
            "case_id",
            "municipality",
            "region",
            "reasons",
            "draft_plan",
            "escalated_at",
            "escalation_id",
        }
    ),
    TeamNODecisionRecorded.event_type: frozenset(
        {
            "case_id",
            "escalation_id",
            "decision",
            "assignment",
            "provider",
            "decided_by",
            "decided_at",
        }
    ),
    YouthCareNoted.event_type: frozenset(
        {"case_id", "wijkteam_worker_id", "reason", "noted_by", "noted_at"}
    ),
    TrajectoryClosed.event_type: frozenset({"case_id", "closed_by", "closed_at"}),
}

# Thin notifications: the shape of the ZGW Notificaties API (VNG), on purpose, so a
# municipality's systems that take ZGW notifications take these as they are.
THIN_CHANNEL: Final = "passend.cases"
THIN_ID_HEADER: Final = "notification-id"
THIN_CONTENT_TYPE: Final = "application/json"

Action = Literal["create", "update", "destroy"]


class ThinNotification(BaseModel):
    """One notification, its JSON names as in the ZGW Notificaties API."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    kanaal: str = Field(description="The channel: always passend.cases")
    hoofd_object: str = Field(alias="hoofdObject", description="URL of the case")
    resource: str = Field(description="What changed, e.g. escalation, team_no_decision")
    resource_url: str = Field(alias="resourceUrl", description="URL of what changed")
    actie: Action = Field(description="create, update or destroy")
    aanmaakdatum: datetime = Field(description="When it changed (the event's time)")
    kenmerken: dict[str, str] = Field(
        default_factory=dict, description="Attributes to filter on, e.g. swv"
    )

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


# Kafka headers on a record a consumer set aside (the record's own headers follow them).
DLQ_ERROR: Final = "dlq-error"
DLQ_ERROR_TYPE: Final = "dlq-error-type"
DLQ_STAGE: Final = "dlq-stage"
DLQ_TOPIC: Final = "dlq-topic"
DLQ_PARTITION: Final = "dlq-partition"
DLQ_OFFSET: Final = "dlq-offset"
DLQ_GROUP: Final = "dlq-group"

DEAD_LETTER_HEADERS: Final[Mapping[str, str]] = {
    DLQ_ERROR: "Why the record was set aside: the error's type and message, shortened",
    DLQ_ERROR_TYPE: "The error's type",
    DLQ_STAGE: "Where it failed: malformed, invalid (against the contract) or handler",
    DLQ_TOPIC: "The topic the record was read from",
    DLQ_PARTITION: "Its partition",
    DLQ_OFFSET: "Its offset there",
    DLQ_GROUP: "The consumer group that set it aside",
}
