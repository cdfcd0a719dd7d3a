"""What an outside organisation reads: the integration channels' allow-list and minimisation,
webhook headers, thin notifications, and the headers of a dead letter.

This is the public contract of the channels the integration gateway writes
(``passend.integration.<region>`` and ``passend.integration.<region>.thin``), of the
webhooks the notifications service delivers (the same events, pushed) and of the
dead-letter topics operators read; the AsyncAPI document is generated from it. Both the
gateway and the notifications service minimise and route with the functions here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import RequestRouted
from passend_contracts.events.base import EventPayload
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

# The events that name the municipality of the case's pupil, and the field that holds it.
# R: an escalation goes to the Team NO of the pupil's municipality. The school's
# municipality (SchoolRegistered) is deliberately not used: a pupil may live elsewhere.
REGION_FIELDS: dict[str, str] = {EscalatedToTeamNO.event_type: "municipality"}
if "municipality" in RequestRouted.model_fields:  # when routing learns the pupil's municipality
    REGION_FIELDS[RequestRouted.event_type] = "municipality"


def municipality_named(payload: EventPayload) -> str | None:
    """The pupil's municipality if this event names it, else ``None``.

    The one reading of an event's municipality for every integration channel (the
    gateway's topics and the notifications service's webhooks).
    """
    field = REGION_FIELDS.get(payload.event_type)
    value = getattr(payload, field, None) if field else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        topics.region_key(value)
    except ValueError:
        return None  # a name no topic can carry: the case's events stay held
    return value


def minimise(
    event: CloudEvent,
    payload: EventPayload,
    fields: Mapping[str, frozenset[str]] = MUNICIPALITY_FIELDS,
) -> CloudEvent | None:
    """The event as an outside receiver may see it, or ``None`` when it may not see it at all.

    ``fields`` is the allow-list per event type. ``payload`` is the parsed (upcast)
    payload of ``event``: the result carries the newest version, so receivers never
    upcast. The id stays the source event's id, so receivers deduplicate redeliveries on
    it. The actor becomes the producing service; on whose behalf it acted is dropped.
    The one minimisation of every integration channel: the gateway's topics and the
    notifications service's webhooks.
    """
    allowed = fields.get(payload.event_type)
    if allowed is None:
        return None
    data = payload.model_dump(mode="json", include=set(allowed))
    return CloudEvent.model_validate(
        {
            **event.model_dump(),
            "type": payload.event_type,
            "data": data,
            "actor": event.source,
            "onbehalfof": None,
        }
    )


# Webhooks (the notifications service's subscriptions): the same events as a municipality's
# topic, pushed, signed in the Standard Webhooks style. The consumer kit signs and verifies
# (passend_consumerkit.webhooks).
WEBHOOK_ID_HEADER: Final = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER: Final = "webhook-signature"
WEBHOOK_EVENT_TYPE_HEADER: Final = "passend-event-type"  # not in the standard

WEBHOOK_HEADERS: Final[Mapping[str, str]] = {
    WEBHOOK_ID_HEADER: "The delivery's id, the same on every attempt: deduplicate on it",
    WEBHOOK_TIMESTAMP_HEADER: "Unix seconds when this attempt was signed; refuse one too old",
    WEBHOOK_SIGNATURE_HEADER: (
        "`v1,<signature>`: the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` "
        "keyed with the subscription's secret (its UTF-8 bytes); two, space-separated, while "
        "a secret is rotated"
    ),
    WEBHOOK_EVENT_TYPE_HEADER: "The CloudEvent's type, to route on before parsing the body",
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
DLQ_REASON: Final = "dlq-reason"
DLQ_STAGE: Final = "dlq-stage"
DLQ_TOPIC: Final = "dlq-topic"
DLQ_PARTITION: Final = "dlq-partition"
DLQ_OFFSET: Final = "dlq-offset"
DLQ_GROUP: Final = "dlq-group"

DEAD_LETTER_HEADERS: Final[Mapping[str, str]] = {
    DLQ_ERROR: (
        "Why the record was set aside, in words (for a handler's failure: the error's type "
        "and message), shortened"
    ),
    DLQ_ERROR_TYPE: "The error's type",
    DLQ_REASON: (
        "The kind of reason, for screens and counts: not-text, not-json, not-an-event, "
        "breaks-contract or handler-failed"
    ),
    DLQ_STAGE: "Where it failed: malformed, invalid (against the contract) or handler",
    DLQ_TOPIC: "The topic the record was read from",
    DLQ_PARTITION: "Its partition",
    DLQ_OFFSET: "Its offset there",
    DLQ_GROUP: "The consumer group that set it aside",
}
