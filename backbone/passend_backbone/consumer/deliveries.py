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


def parse_records(
    records: Sequence[Any], unknown: list[str] | None = None
) -> tuple[list[Delivery], list[Failure], int]:
    """(deliveries, failures, number of records skipped as unknown types).

    With ``unknown`` given, the type of each skipped record is appended to it (for the
    count and the log line per type; see :func:`event_type_of`).
    """
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
                if unknown is not None:
                    unknown.append(event_type_of(record))
            elif isinstance(parsed, Failure):
                failures.append(parsed)
            else:
                deliveries.append(parsed)
    finally:
        if collecting:
            gc.enable()
    return deliveries, failures, skipped


def event_type_of(record: Any) -> str:
    """The record's ``ce_type`` header as text (``"?"`` when it has none readable)."""
    for name, raw in record.headers or ():
        if name == "ce_type":
            try:
                return str(raw.decode())[:200]
            except (AttributeError, UnicodeDecodeError):
                break
    return "?"


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A consumed event whose body is used as JSON, not as the contract's typed payload.

    For rebuilds of projections that can apply events this way
    (:class:`~passend_backbone.consumer.kinds.RawBatchProjection`): the contract has
    validated the first event of its type and shape (:class:`Shapes`); this one is read
    without validating each field again.
    """

    record: Any
    id: str  # the event id as text
    type: str
    subject: str
    swv: str
    data: dict[str, Any]


class Shapes:
    """The shapes (event type, header names, body keys) of which one event passed the
    contract in full.

    Events of Passend's own topics were validated when they were appended (the relay
    publishes what the store holds, byte for byte): checking every field of every event
    again during a rebuild costs more than the rest of it. So the first event of each
    shape is parsed with the contract; the others of that shape are taken as JSON. A
    value that is still wrong (only possible in a record no relay wrote) is caught where
    it is used: the projection's batch fails and the rebuild applies that batch through
    the contract instead, which names the event.
    """

    def __init__(self) -> None:
        self._checked: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()

    def parse(
        self, records: Sequence[Any], raw_types: frozenset[str]
    ) -> tuple[list[RawEvent | Delivery], list[Failure], int]:
        """(events in order, failures, skipped): raw for ``raw_types`` in known shapes,
        else through the contract as :func:`parse_records` does."""
        events: list[RawEvent | Delivery] = []
        failures: list[Failure] = []
        skipped = 0
        collecting = gc.isenabled()
        gc.disable()
        try:
            for record in records:
                raw = _raw(record, raw_types)
                shape = None
                if raw is not None:
                    names = tuple(name for name, _ in record.headers)
                    shape = (raw.type, names, tuple(raw.data))
                    if shape in self._checked:
                        events.append(raw)
                        continue
                parsed = parse_record(record)
                if parsed is None:
                    skipped += 1
                elif isinstance(parsed, Failure):
                    failures.append(parsed)
                else:
                    if shape is not None:
                        self._checked.add(shape)
                    events.append(parsed)
        finally:
            if collecting:
                gc.enable()
        return events, failures, skipped


def _raw(record: Any, raw_types: frozenset[str]) -> RawEvent | None:
    """The record as a :class:`RawEvent` when it is one of ``raw_types`` and well-formed
    JSON with the envelope attributes a projection uses; ``None`` otherwise."""
    try:
        headers = dict(record.headers)
        kind = headers["ce_type"].decode()
        if kind not in raw_types:
            return None
        event_id = headers["ce_id"].decode()
        if len(event_id) != 36 or event_id != event_id.lower():
            return None  # handled marks compare ids as text: only the canonical form
        data = orjson.loads(record.value)
        if type(data) is not dict:
            return None
        return RawEvent(
            record,
            event_id,
            kind,
            headers["ce_subject"].decode(),
            headers["ce_swv"].decode(),
            data,
        )
    except (KeyError, UnicodeDecodeError, orjson.JSONDecodeError, TypeError, ValueError):
        return None
