"""Loading a case's or an SWV directory's stream from the store into domain state (reads)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from passend_assignment.access import not_found
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.case_commands import CASE_DECIDER
from passend_assignment.domain.directory import DirectoryState, directory_stream
from passend_assignment.domain.directory_commands import DIRECTORY_DECIDER
from passend_backbone.commands import payload_of
from passend_backbone.eventstore import EventStore, RecordedEvent
from passend_contracts.events.base import EventPayload


def payloads(records: Iterable[RecordedEvent]) -> list[EventPayload]:
    """The typed payloads of stored events, upcast to their newest versions."""
    return [payload_of(r) for r in records]


async def load_case(
    store: EventStore, case_id: UUID, swv: str, conn: Any = None
) -> tuple[CaseState, list[RecordedEvent]]:
    """The case and its stored events; 'not found' when unrouted or of another SWV."""
    records = await store.read_stream(str(case_id), conn=conn)
    state = CASE_DECIDER.fold_stored(records)
    # A foreign SWV's case answers as if it did not exist.
    if state is None or state.swv_id != swv:
        raise not_found(case_id)
    return state, records


async def load_directory(
    store: EventStore, swv: str, conn: Any = None
) -> tuple[DirectoryState, int]:
    """The SWV's directory and its stream version (0 when never configured)."""
    records = await store.read_stream(directory_stream(swv), conn=conn)
    return DIRECTORY_DECIDER.fold_stored(records), len(records)
