"""The in-memory twin of the PostgreSQL event store, for tests that run in milliseconds.

Same contract (``eventstore/port.py``): expected versions, duplicate event ids as a no-op,
global positions, hash chains that verify, and data as a read gives it back (sorted JSON
text, lists for tuples). Given a :class:`~passend_backbone.commands.transactions.MemoryTx`
as ``conn``, an append is undone when that transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from passend_backbone.commands.transactions import MemoryTx
from passend_backbone.eventstore.hashchain import (
    GENESIS,
    Canonicalizer,
    Link,
    VerificationReport,
    data_bytes,
    link_hash,
    verify_links,
)
from passend_backbone.eventstore.model import (
    ConcurrencyError,
    Metadata,
    NewEvent,
    RecordedEvent,
)
from passend_backbone.logs import get_logger
from passend_backbone.texts.keys import TextKeys
from passend_backbone.texts.sealing import seal_events

log = get_logger(__name__)


class InMemoryEventStore:
    """One service's event store, held in this process."""

    def __init__(self, source: str = "/passend/memory", *, texts: TextKeys | None = None) -> None:
        self.source = source
        # Sealing free texts as the PostgreSQL store does, when given keys (memory tests
        # of the sealing itself); fast tests of the rules keep texts as they are.
        self.texts = texts
        self._events: list[RecordedEvent] = []  # in position order
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._ids: dict[Any, RecordedEvent] = {}
        self._recorded_at: dict[Any, datetime] = {}
        self._listeners: list[Callable[[], None]] = []
        # The last position given out. Like PostgreSQL's identity column it only grows: a
        # position taken by an append that rolled back is never given again, so positions
        # read once stay a safe place to read on from.
        self._position = 0

    def add_append_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        *,
        conn: Any = None,
    ) -> list[RecordedEvent]:
        if not events:
            return []
        if expected_version < 0:
            raise ValueError(f"expected_version {expected_version} is negative; 0 = new stream")
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids):
            raise ValueError(f"one append holds the same event id twice: {ids}")
        stored = [self._ids[i] for i in ids if i in self._ids]
        if stored:
            return sorted(stored, key=lambda e: e.position)
        stream = self._streams.get(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version, len(stream))
        if self.texts is not None:
            events = await seal_events(self.texts, conn, meta.swv, stream_id, events)
        now = datetime.now(UTC)
        canonical = Canonicalizer(
            stream_id=stream_id,
            swv=meta.swv,
            actor=meta.actor,
            correlation_id=meta.correlation_id,
            causation_id=meta.causation_id,
            on_behalf_of=meta.on_behalf_of,
            recorded_at=now,
        )
        prev = stream[-1].hash if stream else GENESIS
        recorded: list[RecordedEvent] = []
        for offset, event in enumerate(events, start=1):
            occurred_at = event.occurred_at or now
            if occurred_at.tzinfo is None:
                raise ValueError(
                    f"occurred_at of {event.event_type} has no time zone; give an aware datetime"
                )
            raw = data_bytes(event.data)
            version = expected_version + offset
            link = link_hash(
                prev, canonical(event.event_id, version, occurred_at, event.event_type, raw)
            )
            recorded.append(
                RecordedEvent(
                    position=self._position + offset,
                    event_id=event.event_id,
                    stream_id=stream_id,
                    stream_version=version,
                    event_type=event.event_type,
                    data=orjson.loads(raw),
                    swv=meta.swv,
                    actor=meta.actor,
                    correlation_id=meta.correlation_id,
                    causation_id=meta.causation_id,
                    on_behalf_of=meta.on_behalf_of,
                    occurred_at=occurred_at,
                    prev_hash=prev,
                    hash=link,
                )
            )
            prev = link
        self._position += len(recorded)
        self._events.extend(recorded)
        self._streams[stream_id] = [*stream, *recorded]
        for record in recorded:
            self._ids[record.event_id] = record
            self._recorded_at[record.event_id] = now
        if isinstance(conn, MemoryTx):
            conn.on_rollback(lambda: self._undo(stream_id, recorded))
        for callback in self._listeners:
            try:
                callback()
            except Exception:
                log.exception("append_listener_failed", callback=repr(callback))
        return recorded

    def _undo(self, stream_id: str, recorded: list[RecordedEvent]) -> None:
        gone = {r.event_id for r in recorded}
        self._events = [e for e in self._events if e.event_id not in gone]
        self._streams[stream_id] = [
            e for e in self._streams.get(stream_id, []) if e.event_id not in gone
        ]
        if not self._streams[stream_id]:
            del self._streams[stream_id]
        for event_id in gone:
            self._ids.pop(event_id, None)

    async def read_stream(
        self, stream_id: str, *, as_of: datetime | None = None, conn: Any = None
    ) -> list[RecordedEvent]:
        stream = self._streams.get(stream_id, [])
        return [e for e in stream if as_of is None or e.occurred_at <= as_of]

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: Any = None
    ) -> list[RecordedEvent]:
        return [e for e in self._events if e.position > after_position][:limit]

    async def stream_version(self, stream_id: str, conn: Any = None) -> int:
        return len(self._streams.get(stream_id, []))

    async def verify(self) -> VerificationReport:
        ordered = sorted(self._events, key=lambda e: (e.stream_id, e.stream_version))
        return verify_links(_link(e, self._recorded_at[e.event_id]) for e in ordered)

    def tamper(self, event_id: Any, **changes: Any) -> None:
        """Change a stored event in place (for tests of the chain's verification)."""
        old = self._ids[event_id]
        new = RecordedEvent(**{**old.__dict__, **changes})
        self._ids[event_id] = new
        self._events = [new if e.event_id == event_id else e for e in self._events]
        stream = self._streams[old.stream_id]
        self._streams[old.stream_id] = [new if e.event_id == event_id else e for e in stream]


def _link(event: RecordedEvent, recorded_at: datetime) -> Link:
    return Link(
        event_id=event.event_id,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_type=event.event_type,
        data=data_bytes(event.data),
        swv=event.swv,
        actor=event.actor,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        on_behalf_of=event.on_behalf_of,
        occurred_at=event.occurred_at,
        recorded_at=recorded_at,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )
