"""One case event as an auditor sees it: who, when, for whom, why, where in the log, and what."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from passend_backbone.audit.descriptions import describe as default_describe
from passend_backbone.eventstore import RecordedEvent

Describe = Callable[[str, Mapping[str, Any]], str]


def event_entry(
    service: str, event: RecordedEvent, describe: Describe = default_describe
) -> dict[str, Any]:
    """The JSON shape of one event in ``GET /audit/cases/{case_id}/events``."""
    return {
        "kind": "event",
        "service": service,
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "on_behalf_of": event.on_behalf_of,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "position": event.position,
        "hash": event.hash.hex(),
        "prev_hash": event.prev_hash.hex(),
        "description": describe(event.event_type, event.data),
        "data": event.data,
    }
