"""Consumed Kafka records as parsed events, or as failures to be dead-lettered."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from passend_consumerkit.delivery import Failure
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.registry import UnknownEventType, parse


@dataclass(frozen=True)
class Delivery:
    """One consumed record that parsed into a known event."""

    record: Any  # aiokafka ConsumerRecord
    event: CloudEvent
    payload: EventPayload


def parse_record(record: Any) -> Delivery | Failure | None:
    """The record as an event; ``None`` for an event type these contracts don't know.

    Unknown types are skipped rather than dead-lettered: a newer producer may publish
    types this consumer has no use for.
    """
    try:
        event = _envelope(record.headers or (), record.value)
    except Exception:
        try:
            # The contract's own parser decides, and explains what is wrong.
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


def _envelope(headers: Sequence[tuple[str, bytes]], value: bytes | None) -> CloudEvent:
    """``CloudEvent.from_kafka`` for well-formed records, with a quicker JSON parser.

    Raises on anything unusual (including JSON that only Python's parser accepts, such as
    ``NaN`` or integers beyond 64 bits); the caller then asks ``from_kafka`` itself.
    """
    attrs: dict[str, Any] = {}
    for name, raw in headers:
        if name[:3] == "ce_":
            attrs[name[3:]] = raw.decode()
        elif name == "content-type":
            attrs["datacontenttype"] = raw.decode()
    data = orjson.loads(value)  # type: ignore[arg-type]  # None raises: from_kafka says why
    if type(data) is not dict:
        raise ValueError("event body must be a JSON object")
    attrs["data"] = data
    return CloudEvent.model_validate(attrs)


def parse_records(records: Sequence[Any]) -> tuple[list[Delivery], list[Failure], int]:
    """(deliveries, failures, number of records skipped as unknown types)."""
    deliveries: list[Delivery] = []
    failures: list[Failure] = []
    skipped = 0
    # Parsing makes many objects, which would set off the cyclic collector (walking the
    # heap) over and over, doubling the cost of a big batch; it runs once afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for record in records:
            parsed = parse_record(record)
            if parsed is None:
                skipped += 1
            elif isinstance(parsed, Failure):
                failures.append(parsed)
            else:
                deliveries.append(parsed)
    finally:
        if collecting:
            gc.enable()
    return deliveries, failures, skipped
