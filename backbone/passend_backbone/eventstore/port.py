"""What every event store offers: the port that PostgreSQL and the in-memory twin fill.

Both pass the same contract tests (``tests/contracts/test_event_store_contract.py``):
append with an expected version (0 = a new stream), refusing a stale one with
``ConcurrencyError`` and writing nothing; an event id stored before makes an append a
no-op that returns the stored events; streams read in version order; everything read
in position order; every stream hash-chained and verifiable. ``conn`` is the caller's
open transaction (an ``asyncpg`` connection, or a :class:`MemoryTx`): the append then
commits or rolls back with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from passend_backbone.eventstore.hashchain import VerificationReport
from passend_backbone.eventstore.model import Metadata, NewEvent, RecordedEvent


@runtime_checkable
class EventStore(Protocol):
    """One service's append-only, hash-chained log of events."""

    source: str  # the CloudEvents source of its events, e.g. "/passend/intake"

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        *,
        conn: Any = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` if the stream is at ``expected_version``; the stored events."""
        ...

    async def read_stream(
        self, stream_id: str, *, as_of: datetime | None = None, conn: Any = None
    ) -> list[RecordedEvent]:
        """The stream's events in version order (those that occurred up to ``as_of``)."""
        ...

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: Any = None
    ) -> list[RecordedEvent]:
        """Events with a position after ``after_position``, in position order."""
        ...

    async def stream_version(self, stream_id: str, conn: Any = None) -> int:
        """The stream's current version (0 when it has no events)."""
        ...

    def add_append_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every append that wrote events."""
        ...

    async def verify(self) -> VerificationReport:
        """Check every stream's hash chain; the report names the first broken link."""
        ...
