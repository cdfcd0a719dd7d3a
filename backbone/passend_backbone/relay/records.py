"""The relay's Kafka records, built from event rows: byte for byte ``CloudEvent.to_kafka``."""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import orjson

from passend_backbone.eventstore.model import RecordedEvent
from passend_contracts.envelope import CONTENT_TYPE, SPECVERSION

# The columns the relay reads; ``data::text`` is the stored JSON whatever the column type.
COLUMNS = (
    "position, event_id::text AS event_id, stream_id, stream_version, event_type, "
    "data::text AS data, swv, actor, correlation_id, causation_id, on_behalf_of, occurred_at"
)

Record = tuple[bytes, list[tuple[str, bytes]], bytes]

_SPECVERSION = SPECVERSION.encode()
_CONTENT_TYPE = CONTENT_TYPE.encode()


class RecordBuilder:
    """Builds the Kafka record of each row read with :data:`COLUMNS` for one ``source``.

    Building the record is the relay's hot path. The contract
    (``passend_contracts.envelope.CloudEvent.to_kafka``) stays the one definition of the
    record: this makes the same key, headers and value without the models in between, and
    hands every row it can't vouch for to the contract itself. The body is the payload as
    compact JSON with sorted keys and non-ASCII escaped (``json.dumps`` with
    ``sort_keys=True``); orjson makes the same bytes when the result is printable ASCII
    and holds no floats (orjson writes those differently), so other rows go the
    contract's way.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._source = source.encode()

    def record(self, row: Mapping[str, Any]) -> Record:
        """(key, headers, value), equal to ``to_cloudevent(source).to_kafka()`` of the row."""
        value = _compact(row["data"])
        if value is None:
            return self.contract_record(row)
        subject = row["stream_id"].encode()
        headers = [
            ("ce_specversion", _SPECVERSION),
            ("ce_id", row["event_id"].encode()),
            ("ce_source", self._source),
            ("ce_type", row["event_type"].encode()),
            ("ce_subject", subject),
            ("ce_time", row["occurred_at"].isoformat().encode()),
            ("content-type", _CONTENT_TYPE),
            ("ce_swv", row["swv"].encode()),
            ("ce_correlationid", row["correlation_id"].encode()),
            ("ce_causationid", row["causation_id"].encode()),
            ("ce_actor", row["actor"].encode()),
        ]
        on_behalf_of = row["on_behalf_of"]
        if on_behalf_of is not None:
            headers.append(("ce_onbehalfof", on_behalf_of.encode()))
        headers.append(("ce_streamversion", str(row["stream_version"]).encode()))
        headers.append(("ce_position", str(row["position"]).encode()))
        return subject, headers, value

    def contract_record(self, row: Mapping[str, Any]) -> Record:
        """The record as the contract makes it (the slow path, and the reference)."""
        event = RecordedEvent(
            position=row["position"],
            event_id=UUID(row["event_id"]),
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            data=json.loads(row["data"]),
            swv=row["swv"],
            actor=row["actor"],
            correlation_id=row["correlation_id"],
            causation_id=row["causation_id"],
            on_behalf_of=row["on_behalf_of"],
            occurred_at=row["occurred_at"],
            prev_hash=b"",  # not part of the record
            hash=b"",
        )
        return event.to_cloudevent(self.source).to_kafka()


def _compact(text: str) -> bytes | None:
    """The sorted compact JSON of ``text``, or None when only the contract may make it."""
    try:
        data = orjson.loads(text)
        # Not an object: the contract refuses it. orjson reads integers beyond 64 bits as
        # floats, so those go to the contract as well.
        if type(data) is not dict or _has_float(data):
            return None
        value = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None  # nesting deeper than orjson allows, and the like
    # json.dumps escapes everything outside printable ASCII (ensure_ascii); orjson doesn't.
    if not value.isascii() or b"\x7f" in value:
        return None
    return value


def _has_float(container: dict[str, Any] | list[Any]) -> bool:
    """Whether a float is anywhere in ``container`` (parsed JSON)."""
    items: Iterable[Any] = container.values() if type(container) is dict else container
    for item in items:
        kind = type(item)
        if kind is float or ((kind is dict or kind is list) and _has_float(item)):
            return True
    return False


@functools.lru_cache(maxsize=65536)  # a case's events keep coming back to its partition
def partition_of(key: bytes, count: int) -> int:
    """The partition index (of ``count``) Kafka's default partitioner gives ``key``.

    Java's murmur2, as ``aiokafka.partitioner.DefaultPartitioner`` computes it, with the
    key's 4-byte words unpacked at once.
    """
    m = 0x5BD1E995
    length = len(key)
    whole = length & ~3
    h = 0x9747B28C ^ length
    for k in struct.unpack_from(f"<{length >> 2}I", key):
        k = (k * m) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    extra = length & 3
    if extra >= 3:
        h ^= key[whole + 2] << 16
    if extra >= 2:
        h ^= key[whole + 1] << 8
    if extra >= 1:
        h = ((h ^ key[whole]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % count
