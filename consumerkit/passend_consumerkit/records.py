"""Consumed Kafka records as validated events, or as invalid messages saying what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.registry import UnknownEventType, parse

# What is wrong with an invalid message:
# - "malformed": not a CloudEvent in Kafka binary content mode (headers, JSON object body);
# - "invalid": a known event type whose data does not fit its schema;
# - "unknown_type": an event type these contracts don't know (upgrade passend-contracts).
Problem = Literal["malformed", "invalid", "unknown_type"]


@dataclass(frozen=True)
class Position:
    """Where a record was read: topic, partition and offset."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Received:
    """One valid event: the envelope and its typed payload, upcast to the newest version."""

    event: CloudEvent
    payload: EventPayload
    position: Position

    @property
    def id(self) -> UUID:
        """The event's id: deduplicate on it, every event may arrive more than once."""
        return self.event.id


@dataclass(frozen=True)
class InvalidMessage:
    """A record that is not a valid event; reported to the caller, never silently dropped."""

    problem: Problem
    error: Exception
    position: Position
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    value: bytes | None

    @property
    def reason(self) -> str:
        return f"{self.problem}: {type(self.error).__name__}: {self.error}"


def position_of(record: Any) -> Position:
    return Position(str(record.topic), int(record.partition), int(record.offset))


def invalid(record: Any, problem: Problem, error: Exception) -> InvalidMessage:
    """The record as an invalid message with what is wrong with it."""
    return InvalidMessage(
        problem=problem,
        error=error,
        position=position_of(record),
        key=record.key,
        headers=tuple(record.headers or ()),
        value=record.value,
    )


def parse_event_record(record: Any) -> Received | InvalidMessage:
    """A consumed record as a validated event (old versions upcast) or an invalid message."""
    try:
        event = CloudEvent.from_kafka(list(record.headers or ()), record.value)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        return invalid(record, "malformed", exc)
    try:
        payload = parse(event)
    except UnknownEventType as exc:
        return invalid(record, "unknown_type", exc)
    except ValueError as exc:
        return invalid(record, "invalid", exc)
    return Received(event, payload, position_of(record))
