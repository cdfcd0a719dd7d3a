"""The routing reactor's remembered directory is the directory the store holds now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from passend_assignment.domain.directory import directory_stream
from passend_assignment.reactors import DirectoryMemory
from passend_backbone.eventstore import Metadata, NewEvent
from passend_contracts.events.assignment import WorkUnitDefined

from .kit import SWV, migrated_store

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
META = Metadata(swv=SWV, actor="test", correlation_id="directory-memory", causation_id="test")


def _unit(name: str) -> NewEvent:
    return NewEvent.of(WorkUnitDefined(swv_id=SWV, work_unit_id="wu-1", name=name, defined_at=NOW))


async def test_a_changed_directory_is_read_again(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    memory = DirectoryMemory()
    try:
        await store.append(directory_stream(SWV), 0, [_unit("Noord")], META)
        async with pool.acquire() as conn:
            first = await memory.directory(store, SWV, conn)
            assert first.work_units["wu-1"].name == "Noord"
            assert await memory.directory(store, SWV, conn) is first  # unchanged: remembered
            await store.append(directory_stream(SWV), 1, [_unit("Zuid")], META)
            changed = await memory.directory(store, SWV, conn)
            assert changed.work_units["wu-1"].name == "Zuid"
            assert (await memory.directory(store, "swv-other", conn)).work_units == {}
    finally:
        await pool.close()
