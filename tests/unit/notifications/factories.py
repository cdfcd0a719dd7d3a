"""Bus events for the notifications tests, built from the contract payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload

SWV = "swv-rijnmond"
NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def bus_event(
    payload: EventPayload,
    *,
    swv: str = SWV,
    event_id: UUID | None = None,
    version: int = 1,
    position: int = 1,
) -> CloudEvent:
    """``payload`` as it arrives from the bus (binary mode round trip included)."""
    data = payload.model_dump(mode="json")
    event = CloudEvent(
        id=event_id or uuid.uuid4(),
        source=f"/passend/{payload.topic.split('.')[1]}",
        type=payload.event_type,
        subject=str(data["case_id"]),
        time=NOW,
        swv=swv,
        correlationid="corr-1",
        causationid="cmd-1",
        actor="user-1",
        streamversion=version,
        position=position,
        data=data,
    )
    _key, headers, value = event.to_kafka()
    return CloudEvent.from_kafka(headers, value)
