"""What goes into the store and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload


@dataclass(frozen=True)
class Metadata:
    """Who did it, for which tenant, and why (shared by the events of one append)."""

    swv: str
    actor: str
    correlation_id: str
    causation_id: str
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class NewEvent:
    """An event to append. ``event_id`` may be made deterministic (uuid5) by reactors."""

    event_type: str
    data: dict[str, Any]
    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime | None = None  # defaults to the time of the append (UTC)
    # ``data`` holds only what JSON holds (string keys, lists, no tuples): the appended
    # event can then carry it as it is instead of reading its stored text back.
    json_native: bool = field(default=False, compare=False, repr=False)

    @classmethod
    def of(cls, payload: EventPayload, *, event_id: UUID | None = None) -> NewEvent:
        """A new event from a contract payload."""
        data = payload.model_dump(mode="json")
        return cls(payload.event_type, data, event_id or uuid4(), json_native=True)


@dataclass(frozen=True)
class RecordedEvent:
    """One stored event row."""

    position: int
    event_id: UUID
    stream_id: str
    stream_version: int  # 1 for a stream's first event
    event_type: str
    data: dict[str, Any]
    swv: str
    actor: str
    correlation_id: str
    causation_id: str
    on_behalf_of: str | None
    occurred_at: datetime
    prev_hash: bytes
    hash: bytes

    def to_cloudevent(self, source: str) -> CloudEvent:
        """The bus form of this event; ``subject`` is the stream (case) id."""
        return CloudEvent(
            id=self.event_id,
            source=source,
            type=self.event_type,
            subject=self.stream_id,
            time=self.occurred_at,
            swv=self.swv,
            correlationid=self.correlation_id,
            causationid=self.causation_id,
            actor=self.actor,
            onbehalfof=self.on_behalf_of,
            streamversion=self.stream_version,
            position=self.position,
            data=self.data,
        )


class ConcurrencyError(Exception):
    """The stream moved on since it was read; nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "someone else changed it first; reload and decide again"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
