"""Loading a case's or an SWV directory's stream from the store into domain state."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from passend_assignment.domain import case as case_domain
from passend_assignment.domain import directory as directory_domain
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.directory import DirectoryState, directory_stream
from passend_assignment.domain.errors import not_found
from passend_backbone.eventstore import EventStore, RecordedEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.registry import EVENT_TYPES


def payloads(records: Iterable[RecordedEvent]) -> list[EventPayload]:
    """The typed payloads of stored events (the store holds only types it wrote)."""
    return [EVENT_TYPES[r.event_type].model_validate(r.data) for r in records]


async def load_case(
    store: EventStore, case_id: UUID, swv: str, conn: asyncpg.Connection | None = None
) -> tuple[CaseState, list[RecordedEvent]]:
    """The case and its stored events; 'not found' when unrouted or of another SWV."""
    records = await store.read_stream(str(case_id), conn=conn)
    state = case_domain.fold(payloads(records))
    # A foreign SWV's case answers as if it did not exist.
    if state is None or state.swv_id != swv:
        raise not_found(f"case {case_id}")
    return state, records


async def load_directory(
    store: EventStore, swv: str, conn: asyncpg.Connection | None = None
) -> tuple[DirectoryState, int]:
    """The SWV's directory and its stream version (0 when never configured)."""
    records = await store.read_stream(directory_stream(swv), conn=conn)
    return directory_domain.fold(payloads(records)), len(records)
