"""Consumed Kafka records as parsed events, failures, and their dead-letter form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.registry import UnknownEventType, parse

# Kafka header names on a dead-lettered record (the original headers follow them).
DLQ_ERROR = "dlq-error"
DLQ_ERROR_TYPE = "dlq-error-type"
DLQ_STAGE = "dlq-stage"
DLQ_TOPIC = "dlq-topic"
DLQ_PARTITION = "dlq-partition"
DLQ_OFFSET = "dlq-offset"
DLQ_GROUP = "dlq-group"

_MAX_ERROR = 2000


@dataclass(frozen=True)
class Delivery:
    """One consumed record that parsed into a known event."""

    record: Any  # aiokafka ConsumerRecord
    event: CloudEvent
    payload: EventPayload


@dataclass(frozen=True)
class Failure:
    """One consumed record that could not be parsed ("parse") or handled ("handle")."""

    record: Any
    stage: str
    error: BaseException

    @property
    def reason(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"[:_MAX_ERROR]


def parse_record(record: Any) -> Delivery | Failure | None:
    """The record as an event; ``None`` for an event type these contracts don't know.

    Unknown types are skipped rather than dead-lettered: a newer producer may publish
    types this consumer has no use for.
    """
    try:
        event = CloudEvent.from_kafka(list(record.headers or ()), record.value)
    except Exception as exc:  # any malformed envelope goes to the dead-letter topic
        return Failure(record, "parse", exc)
    try:
        payload = parse(event)
    except UnknownEventType:
        return None
    except Exception as exc:
        return Failure(record, "parse", exc)
    return Delivery(record, event, payload)


def parse_records(records: Sequence[Any]) -> tuple[list[Delivery], list[Failure], int]:
    """(deliveries, failures, number of records skipped as unknown types)."""
    deliveries: list[Delivery] = []
    failures: list[Failure] = []
    skipped = 0
    for record in records:
        parsed = parse_record(record)
        if parsed is None:
            skipped += 1
        elif isinstance(parsed, Failure):
            failures.append(parsed)
        else:
            deliveries.append(parsed)
    return deliveries, failures, skipped


def dead_letter_headers(failure: Failure, group: str) -> list[tuple[str, bytes]]:
    """The headers saying why and where from, followed by the record's own headers."""
    record = failure.record
    headers = [
        (DLQ_ERROR, failure.reason.encode()),
        (DLQ_ERROR_TYPE, type(failure.error).__name__.encode()),
        (DLQ_STAGE, failure.stage.encode()),
        (DLQ_TOPIC, str(record.topic).encode()),
        (DLQ_PARTITION, str(record.partition).encode()),
        (DLQ_OFFSET, str(record.offset).encode()),
        (DLQ_GROUP, group.encode()),
    ]
    return headers + [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
