"""The relay's records built from rows are byte for byte the contract's ``CloudEvent.to_kafka``."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from passend_backbone.eventstore.model import RecordedEvent
from passend_backbone.relay.records import RecordBuilder, partition_of

SOURCE = "/passend/test"

PAYLOADS: list[dict[str, Any]] = [
    {"case_id": str(uuid4()), "need_areas": ["lezen", "gedrag"], "due": "2027-03-08"},
    {"b": 1, "a": {"d": [1, 2, {"z": None, "y": True}], "c": False}, "A": -7},
    {"big": 18446744073709551615, "small": -9223372036854775808},
    {"beyond_64_bits": 10**30},
    {"naam": "Zoë Çelik", "emoji": "\U0001f600", "sep": "\u2028"},
    {"controls": "tab\there\nnew \x01 \x1f del \x7f", "quote": '"\\/'},
    {"ratio": 1.5, "tiny": 1e-05, "huge": 1e16, "whole": 2.0},
    {"nested": {"deep": [[{"x": 0.1}]]}},
    {},
    {"empty": [], "obj": {}, "str": ""},
]


def _row(payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "position": 41,
        "event_id": str(uuid4()),
        "stream_id": "case-7",
        "stream_version": 3,
        "event_type": "nl.passend.test.Happened.v1",
        # As PostgreSQL prints jsonb: spaces after separators, its own key order.
        "data": json.dumps(payload),
        "swv": "swv-2801",
        "actor": "user-7",
        "correlation_id": "corr-1",
        "causation_id": "cmd-1",
        "on_behalf_of": None,
        "occurred_at": datetime(2027, 3, 1, 9, 0, 12, 345678, tzinfo=UTC),
    }
    row.update(overrides)
    return row


def _contract(row: dict[str, Any]) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
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
        prev_hash=b"\0" * 32,
        hash=b"\1" * 32,
    )
    return event.to_cloudevent(SOURCE).to_kafka()


@pytest.mark.parametrize("data", PAYLOADS)
def test_record_equals_the_contracts_record(data: dict[str, Any]) -> None:
    row = _row(data)
    assert RecordBuilder(SOURCE).record(row) == _contract(row)


@pytest.mark.parametrize(
    "overrides",
    [
        {"on_behalf_of": "parent-3"},
        {"occurred_at": datetime(2027, 3, 1, 9, 0, tzinfo=UTC)},  # no microseconds
        {"occurred_at": datetime(2027, 3, 1, 9, 0, 0, 1, tzinfo=UTC)},
        {"stream_id": "zaak-ü", "actor": "système", "position": 10**12},
        {"data": '{"a": 1, "a": 2}'},  # a json column may repeat a key: the last one counts
        {"data": '{"n": 1.10, "e": 1E+2}'},  # jsonb keeps numbers as written
    ],
)
def test_record_equals_the_contracts_record_for_every_column(overrides: dict[str, Any]) -> None:
    row = _row({"k": "v"}, **overrides)
    assert RecordBuilder(SOURCE).record(row) == _contract(row)


def test_random_payloads_give_the_contracts_records() -> None:
    rng = random.Random(5)
    leaves: list[Any] = [None, True, False, 0, -1, 2**40, "", "x", "é", 0.5, 1e300, "a:1,2"]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth < 3 and roll < 0.2:
            return {rng.choice("abcABC_é1"): value(depth + 1) for _ in range(rng.randint(0, 4))}
        if depth < 3 and roll < 0.35:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return rng.choice(leaves)

    builder = RecordBuilder(SOURCE)
    for _ in range(500):
        data = {f"k{i}": value(0) for i in range(rng.randint(0, 6))}
        row = _row(
            data,
            occurred_at=datetime(2027, 1, 1, tzinfo=UTC)
            + timedelta(microseconds=rng.randrange(10**9)),
        )
        assert builder.record(row) == _contract(row), data


def test_plain_payloads_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    builder = RecordBuilder(SOURCE)
    plain = PAYLOADS[:3]  # printable ASCII, no floats, integers within 64 bits
    expected = [_contract(_row(data)) for data in plain]

    def refuse(row: Any) -> Any:
        raise AssertionError("took the contract's path")

    monkeypatch.setattr(builder, "contract_record", refuse)
    for data, record in zip(plain, expected, strict=True):
        assert builder.record(_row(data))[2] == record[2]


def test_a_body_that_is_not_an_object_is_refused_as_by_the_contract() -> None:
    with pytest.raises(ValueError, match="data"):
        RecordBuilder(SOURCE).record(_row({}, data="[1, 2]"))


def test_partition_of_places_keys_as_kafkas_default_partitioner() -> None:
    from aiokafka.partitioner import DefaultPartitioner

    rng = random.Random(3)
    keys = [str(uuid4()).encode() for _ in range(300)]
    keys += [bytes(rng.randrange(256) for _ in range(n)) for n in range(40)]
    for count in (1, 3, 4, 12):
        partitions = list(range(count))
        for key in keys:
            assert partition_of(key, count) == DefaultPartitioner()(key, partitions, partitions)
