"""The append-only, hash-chained event store: the port, PostgreSQL and its in-memory twin."""

from passend_backbone.eventstore.hashchain import BrokenLink, VerificationReport
from passend_backbone.eventstore.model import (
    ConcurrencyError,
    Metadata,
    NewEvent,
    RecordedEvent,
)
from passend_backbone.eventstore.port import EventStore
from passend_backbone.eventstore.store import PostgresEventStore, verify

__all__ = [
    "BrokenLink",
    "ConcurrencyError",
    "EventStore",
    "Metadata",
    "NewEvent",
    "PostgresEventStore",
    "RecordedEvent",
    "VerificationReport",
    "verify",
]
