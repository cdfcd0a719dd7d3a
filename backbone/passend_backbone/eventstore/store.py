"""EventStore: append with an expected version, read a stream, read everything after a position.

STUB: the signatures are settled; the implementation is being written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from passend_backbone.eventstore.model import Metadata, NewEvent, RecordedEvent


class EventStore:
    """One service's event store (table ``events`` in its own database)."""

    def __init__(self, pool: asyncpg.Pool, source: str) -> None:
        self.pool = pool
        self.source = source  # CloudEvents source, e.g. "/passend/intake"

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (0 = new).

        Raises ``ConcurrencyError`` and writes nothing on a mismatch. When ``conn`` is given
        the append joins that connection's open transaction (so a reactor can record the
        causing event as handled in the same transaction). An event whose ``event_id`` is
        already stored is a duplicate: nothing is written and the stored events are
        returned (reactors use deterministic ids for this).
        """
        raise NotImplementedError

    async def read_stream(
        self,
        stream_id: str,
        *,
        as_of: datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[RecordedEvent]:
        """The stream's events in version order (only those recorded up to ``as_of``)."""
        raise NotImplementedError

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        """Committed events with position > ``after_position``, in position order."""
        raise NotImplementedError
