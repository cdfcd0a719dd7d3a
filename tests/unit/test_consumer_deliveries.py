"""Consumed records parse into events, skips or failures, and dead-letter with their reason."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from passend_backbone.consumer.deliveries import Delivery, parse_record, parse_records
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.consumer.schema import check_name, generation_schema
from passend_consumerkit.delivery import (
    DLQ_ERROR,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_STAGE,
    DLQ_TOPIC,
    Failure,
    dead_letter_headers,
)
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import ConsentRequested


@dataclass
class Record:
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "t"
    partition: int = 2
    offset: int = 7
    key: bytes = b"k"


def event(**changes: object) -> CloudEvent:
    payload = ConsentRequested(
        case_id=uuid.uuid4(), requested_by="ib", requested_at=datetime.now(UTC)
    )
    e = CloudEvent(
        id=uuid.uuid4(),
        source="/passend/test",
        type=payload.event_type,
        subject=str(payload.case_id),
        time=datetime.now(UTC),
        swv="swv",
        correlationid="c",
        causationid="c",
        actor="a",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )
    return e.model_copy(update=changes)


def record_of(e: CloudEvent) -> Record:
    _, headers, value = e.to_kafka()
    return Record(value, headers)


def test_a_known_event_parses_into_its_payload() -> None:
    e = event()
    parsed = parse_record(record_of(e))
    assert isinstance(parsed, Delivery)
    assert parsed.event.id == e.id
    assert isinstance(parsed.payload, ConsentRequested)


def test_an_unknown_event_type_is_skipped_not_failed() -> None:
    assert parse_record(record_of(event(type="nl.passend.future.Thing.v9"))) is None


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (Record(b"{nope", record_of(event()).headers), "not JSON"),
        (Record(b"[1]", record_of(event()).headers), "JSON object"),
        (Record(b"{}", []), "validation"),
        (record_of(event(data={"case_id": "not-a-uuid"})), "case_id"),
    ],
)
def test_malformed_records_fail_at_parse_with_the_reason(record: Record, says: str) -> None:
    parsed = parse_record(record)
    assert isinstance(parsed, Failure)
    assert parsed.stage == "parse"
    assert says in parsed.reason


def test_parse_records_sorts_into_deliveries_failures_and_skips() -> None:
    good = record_of(event())
    bad = Record(b"{nope", good.headers)
    unknown = record_of(event(type="nl.passend.future.Thing.v9"))
    deliveries, failures, skipped = parse_records([good, bad, unknown])
    assert [d.record for d in deliveries] == [good]
    assert [f.record for f in failures] == [bad]
    assert skipped == 1


def test_dead_letter_headers_carry_reason_and_origin_then_the_original_headers() -> None:
    original = record_of(event())
    original.headers.append(("dlq-error", b"from an earlier dead-lettering"))
    headers = dead_letter_headers(Failure(original, "handle", RuntimeError("boom")), "svc.p")
    as_dict = dict(headers[:8])
    assert as_dict[DLQ_ERROR] == b"RuntimeError: boom"
    assert as_dict[DLQ_REASON] == b"handler-failed"
    assert as_dict[DLQ_STAGE] == b"handle"
    assert (as_dict[DLQ_TOPIC], as_dict[DLQ_PARTITION], as_dict[DLQ_OFFSET]) == (b"t", b"2", b"7")
    assert as_dict[DLQ_GROUP] == b"svc.p"
    assert headers[8:] == [h for h in original.headers if not h[0].startswith("dlq-")]


def test_a_long_error_is_cut_short() -> None:
    failure = Failure(Record(b""), "handle", ValueError("x" * 10_000))
    assert len(failure.reason) == 2000


def test_generation_schemas_are_safe_identifiers() -> None:
    assert generation_schema("case_counts", 3) == "rm_case_counts_3"
    for bad in ("Cases", "1st", "a-b", "x; DROP TABLE y", "a" * 41, ""):
        with pytest.raises(ValueError, match="lower-case"):
            check_name(bad)


def test_reaction_ids_are_deterministic_per_reactor_cause_and_index() -> None:
    cause = uuid.uuid4()
    assert reaction_id("r", cause) == reaction_id("r", cause, 0)
    assert len({reaction_id("r", cause), reaction_id("r", cause, 1), reaction_id("s", cause)}) == 3


@pytest.mark.parametrize(
    ("value", "code", "says"),
    [
        # Zero bytes make a JSON parser guess UTF-16: the reason must not read like a codec.
        (b"\x00\x9c\xff garbage \x00", "not-text", "not UTF-8 text"),
        (b"\xc3\x28 {}", "not-text", "not UTF-8 text"),
        (b"{nope", "not-json", "not JSON"),
        (b"[1]", "not-an-event", "not an event"),
    ],
)
def test_a_garbage_record_is_set_aside_with_its_reason_in_words(
    value: bytes, code: str, says: str
) -> None:
    parsed = parse_record(Record(value, record_of(event()).headers))
    assert isinstance(parsed, Failure)
    assert (parsed.reason_code, parsed.stage) == (code, "parse")
    assert says in parsed.reason
    assert "codec" not in parsed.reason
    assert dict(dead_letter_headers(parsed, "svc.p"))[DLQ_REASON] == code.encode()


def test_parse_records_names_the_unknown_types_it_skipped() -> None:
    unknown: list[str] = []
    future = record_of(event(type="nl.passend.future.Thing.v9"))
    _, _, skipped = parse_records([record_of(event()), future, future], unknown)
    assert skipped == 2
    assert unknown == ["nl.passend.future.Thing.v9"] * 2
