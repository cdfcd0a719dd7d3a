"""The append-only, hash-chained event store in PostgreSQL (one per service)."""

from passend_backbone.eventstore.hashchain import BrokenLink, VerificationReport
from passend_backbone.eventstore.model import (
    ConcurrencyError,
    Metadata,
    NewEvent,
    RecordedEvent,
)
from passend_backbone.eventstore.store import EventStore, verify

__all__ = [
    "BrokenLink",
    "ConcurrencyError",
    "EventStore",
    "Metadata",
    "NewEvent",
    "RecordedEvent",
    "VerificationReport",
    "verify",
]
