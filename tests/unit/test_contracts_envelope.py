"""The CloudEvents envelope survives Kafka binary content mode and rejects malformed records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passend_contracts.envelope import EXTENSIONS, CloudEvent

EVENT_ID = UUID("9d2f4c1a-6b3e-4f8a-9c5d-1e2a3b4c5d6e")


def _event(**overrides: object) -> CloudEvent:
    attributes: dict[str, object] = {
        "id": EVENT_ID,
        "source": "/passend/intake",
        "type": "nl.passend.intake.ConsentConfirmed.v1",
        "subject": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "time": datetime(2026, 9, 15, 19, 2, 0, 123456, tzinfo=UTC),
        "swv": "swv-2801",
        "correlationid": "corr-1",
        "causationid": "cmd-7",
        "actor": "guardian-1f4e",
        "onbehalfof": "ib-7731",
        "streamversion": 3,
        "position": 42,
        "data": {"case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13", "nested": {"ü": [1, None]}},
    }
    attributes.update(overrides)
    return CloudEvent.model_validate(attributes)


def test_round_trip_keeps_every_attribute_and_extension():
    event = _event()
    key, headers, value = event.to_kafka()

    assert key == event.subject.encode()
    names = [name for name, _ in headers]
    assert len(names) == len(set(names))
    assert {f"ce_{name}" for name in EXTENSIONS} <= set(names)
    assert CloudEvent.from_kafka(headers, value) == event


def test_round_trip_without_optional_extension_sends_no_header_for_it():
    event = _event(onbehalfof=None)
    _, headers, value = event.to_kafka()

    assert "ce_onbehalfof" not in dict(headers)
    assert CloudEvent.from_kafka(tuple(headers), value) == event


def test_headers_use_binary_content_mode_names():
    _, headers, value = _event().to_kafka()
    by_name = dict(headers)

    assert by_name["ce_specversion"] == b"1.0"
    assert by_name["content-type"] == b"application/json"
    assert by_name["ce_swv"] == b"swv-2801"
    assert by_name["ce_streamversion"] == b"3"
    assert json.loads(value) == _event().data


def test_unknown_extension_headers_from_newer_producers_are_ignored():
    _, headers, value = _event().to_kafka()

    parsed = CloudEvent.from_kafka([*headers, ("ce_newextension", b"x"), ("trace", b"y")], value)

    assert parsed == _event()


@pytest.mark.parametrize(
    "value",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b"", None],
    ids=["invalid-json", "not-an-object", "not-utf8", "empty", "tombstone"],
)
def test_malformed_body_raises_value_error(value):
    _, headers, _ = _event().to_kafka()

    with pytest.raises(ValueError, match="event body"):
        CloudEvent.from_kafka(headers, value)


@pytest.mark.parametrize("missing", ["ce_id", "ce_type", "ce_swv", "ce_streamversion"])
def test_missing_required_header_raises_value_error(missing):
    _, headers, value = _event().to_kafka()

    with pytest.raises(ValueError, match=missing.removeprefix("ce_")):
        CloudEvent.from_kafka([h for h in headers if h[0] != missing], value)


@pytest.mark.parametrize(
    ("name", "raw"),
    [("ce_id", b"not-a-uuid"), ("ce_streamversion", b"three"), ("ce_time", b"yesterday")],
)
def test_malformed_header_value_raises_value_error(name, raw):
    _, headers, value = _event().to_kafka()
    changed = [(n, raw if n == name else v) for n, v in headers]

    with pytest.raises(ValueError, match=name.removeprefix("ce_")):
        CloudEvent.from_kafka(changed, value)


def test_header_that_is_not_utf8_raises_value_error():
    _, headers, value = _event().to_kafka()
    changed = [(n, b"\xff" if n == "ce_actor" else v) for n, v in headers]

    with pytest.raises(ValueError, match=r"ce_actor.*UTF-8"):
        CloudEvent.from_kafka(changed, value)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=50, deadline=None)
@given(
    text=st.text(min_size=1),
    onbehalfof=st.none() | st.text(),
    streamversion=st.integers(min_value=1, max_value=2**62),
    time=st.datetimes(timezones=st.just(UTC)),
    data=st.dictionaries(st.text(), _json, max_size=4),
)
def test_round_trip_holds_for_any_attribute_values(text, onbehalfof, streamversion, time, data):
    event = _event(
        source=text,
        subject=text,
        swv=text,
        correlationid=text,
        causationid=text,
        actor=text,
        onbehalfof=onbehalfof,
        streamversion=streamversion,
        position=streamversion,
        time=time,
        data=data,
    )
    _, headers, value = event.to_kafka()

    assert CloudEvent.from_kafka(headers, value) == event
