"""The hash chain's canonical bytes are deterministic and any changed field breaks the chain."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from passend_backbone.eventstore.hashchain import (
    GENESIS,
    Link,
    canonical_bytes,
    data_bytes,
    hash_of,
    verify_links,
)

AT = datetime(2027, 3, 2, 9, 15, 0, 123456, tzinfo=UTC)


def fields(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": UUID("00000000-0000-4000-8000-000000000001"),
        "stream_id": "case-1",
        "stream_version": 1,
        "event_type": "nl.passend.intake.RequestSubmitted.v1",
        "data": data_bytes({"school": "s-1", "pupil": {"year": 5, "needs": ["reading"]}}),
        "swv": "swv-2801",
        "actor": "user-7",
        "correlation_id": "corr-1",
        "causation_id": "cmd-1",
        "on_behalf_of": None,
        "occurred_at": AT,
        "recorded_at": AT + timedelta(milliseconds=3),
    }
    base.update(overrides)
    return base


def chain(stream_id: str, count: int) -> list[Link]:
    links: list[Link] = []
    prev = GENESIS
    for version in range(1, count + 1):
        f = fields(event_id=uuid4(), stream_id=stream_id, stream_version=version)
        link = Link(**f, prev_hash=prev, hash=b"")  # type: ignore[arg-type]
        link = dataclasses.replace(link, hash=hash_of(link))
        links.append(link)
        prev = link.hash
    return links


def test_canonical_bytes_ignore_key_order_and_offset_spelling() -> None:
    a = canonical_bytes(**fields(data=data_bytes({"b": 1, "a": {"y": 2, "x": 3}})))  # type: ignore[arg-type]
    b = canonical_bytes(
        **fields(  # type: ignore[arg-type]
            data=data_bytes({"a": {"x": 3, "y": 2}, "b": 1}),
            occurred_at=AT.astimezone(timezone(timedelta(hours=2))),
            recorded_at=(AT + timedelta(milliseconds=3)).astimezone(timezone(timedelta(hours=-5))),
        )
    )
    assert a == b
    # Length-prefixed fields: the version first, then the event id, the stored JSON, and
    # last the moment the store took the event (8 bytes: microseconds since 2000-01-01).
    event_id = UUID("00000000-0000-4000-8000-000000000001").bytes
    assert a.startswith(b"\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x10" + event_id)
    assert b"\x00\x00\x00\x06case-1" in a
    recorded = (AT + timedelta(milliseconds=3) - datetime(2000, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )
    assert a.endswith(
        b'\x00\x00\x00\x19{"a":{"x":3,"y":2},"b":1}' + b"\x00\x00\x00\x08" + recorded.to_bytes(8)
    )


def test_canonical_bytes_change_with_every_field() -> None:
    base = canonical_bytes(**fields())  # type: ignore[arg-type]
    changes = {
        "event_id": uuid4(),
        "stream_id": "case-2",
        "stream_version": 2,
        "event_type": "other.v1",
        "data": data_bytes({"school": "s-2"}),
        "swv": "swv-1",
        "actor": "user-8",
        "correlation_id": "corr-2",
        "causation_id": "cmd-2",
        "on_behalf_of": "parent-1",
        "occurred_at": AT + timedelta(microseconds=1),
        "recorded_at": AT + timedelta(days=30),
    }
    for name, value in changes.items():
        assert canonical_bytes(**fields(**{name: value})) != base, name  # type: ignore[arg-type]


def test_fields_cannot_be_shifted_into_each_other() -> None:
    # Each text carries its length, so moving characters between fields changes the bytes.
    a = canonical_bytes(**fields(actor="ab", correlation_id="c"))  # type: ignore[arg-type]
    b = canonical_bytes(**fields(actor="a", correlation_id="bc"))  # type: ignore[arg-type]
    assert a != b


def test_data_is_stored_and_hashed_as_sorted_compact_json() -> None:
    assert data_bytes({"b": 1, "a": [1.5, "Zoë ✓"], "t": (1, 2), 3: None}) == (
        '{"3":null,"a":[1.5,"Zoë ✓"],"b":1,"t":[1,2]}'.encode()
    )


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), JSON, max_size=6))
def test_data_bytes_ignore_insertion_order_and_read_back_equal(data: dict[str, object]) -> None:
    reversed_order = dict(reversed(list(data.items())))
    assert data_bytes(data) == data_bytes(reversed_order)
    assert orjson.loads(data_bytes(data)) == data


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        canonical_bytes(**fields(occurred_at=datetime(2027, 3, 2, 9, 15)))  # type: ignore[arg-type]


def test_intact_chains_verify() -> None:
    report = verify_links(chain("a", 3) + chain("b", 2))
    assert report.ok
    assert (report.streams_checked, report.events_checked) == (2, 5)


def test_changed_data_is_found_at_its_version() -> None:
    links = chain("a", 2) + chain("b", 4)
    links[3] = dataclasses.replace(links[3], data=data_bytes({"school": "forged"}))  # b v2
    report = verify_links(links)
    assert report.first_break is not None
    assert (report.first_break.stream_id, report.first_break.stream_version) == ("b", 2)
    assert report.first_break.actual == links[3].hash
    assert report.first_break.expected == hash_of(links[3])
    assert report.events_checked == 6


def test_rehashed_forgery_breaks_the_next_link() -> None:
    links = chain("a", 3)
    forged = dataclasses.replace(links[1], actor="someone-else")
    links[1] = dataclasses.replace(forged, hash=hash_of(forged))
    report = verify_links(links)
    assert report.first_break is not None
    assert report.first_break.stream_version == 3
    assert "prev_hash" in report.first_break.reason


def test_missing_event_is_found() -> None:
    links = chain("a", 3)
    del links[1]
    report = verify_links(links)
    assert report.first_break is not None
    assert report.first_break.stream_version == 3
    assert "missing" in report.first_break.reason


def test_first_break_is_the_earliest_in_stream_order() -> None:
    links = chain("a", 3) + chain("b", 3)
    links[5] = dataclasses.replace(links[5], swv="x")
    links[2] = dataclasses.replace(links[2], swv="x")
    report = verify_links(links)
    assert report.first_break is not None
    assert (report.first_break.stream_id, report.first_break.stream_version) == ("a", 3)
    assert report.broken_streams == 2
