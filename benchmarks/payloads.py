"""Realistic events for the benchmarks: a request routed to a support worker's inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from passend_backbone.eventstore import Metadata, NewEvent
from passend_contracts.events.assignment import RequestRouted

SWV = "swv-bench"
META = Metadata(
    swv=SWV,
    actor="system:benchmark",
    correlation_id="benchmark",
    causation_id="benchmark",
)


def routed(case_id: UUID, index: int) -> NewEvent:
    """A ``RequestRouted`` of case ``case_id`` (about 600 bytes of JSON, like the real one)."""
    now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=index)
    payload = RequestRouted(
        case_id=case_id,
        swv_id=SWV,
        school_id=f"brin-{index % 97:04d}",
        receiving_worker_id=f"ow-{index % 31:03d}",
        routed_at=now,
        ib_id=f"ib-{index % 97:04d}",
        work_unit_id=f"wu-{index % 7}",
        need_areas=["lezen", "gedrag"],
        submitted_at=now - timedelta(minutes=3),
        contact_due_on=date(2027, 3, 8),
        contact_due_at=datetime(2027, 3, 8, 23, 0, tzinfo=UTC),
        remind_at=datetime(2027, 3, 7, 23, 0, tzinfo=UTC),
    )
    return NewEvent.of(payload)


def case_batches(events: int, batch: int) -> list[tuple[str, list[NewEvent]]]:
    """``events`` events as appends of ``batch`` events, each to a new case stream."""
    out: list[tuple[str, list[NewEvent]]] = []
    index = 0
    while index < events:
        case_id = uuid.uuid4()
        size = min(batch, events - index)
        out.append((str(case_id), [routed(case_id, index + i) for i in range(size)]))
        index += size
    return out
