"""The recorded sample of a municipality's integration topics is valid against the contracts.

Integrators replay ``contracts/samples/`` to test their consumers without Passend
(docs/integrators.md); every record there must be what the contracts promise: a CloudEvent
in Kafka binary mode of a type a municipality may receive, with only its allowed fields,
keyed by case; a thin notification for each of them, as the consumer kit reads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from passend_consumerkit.thin import ReceivedThin, parse_thin_record
from passend_contracts import registry, topics
from passend_contracts.envelope import CloudEvent
from passend_gateway.policy import MUNICIPALITY

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "contracts" / "samples"
CODE = "GM0622"


def lines(name: str) -> list[dict[str, Any]]:
    text = (SAMPLES / f"{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def record(line: dict[str, Any]) -> Any:
    """A sample line as the consumed record a Kafka client hands over."""
    return SimpleNamespace(
        topic=line["topic"],
        partition=line["partition"],
        offset=line["offset"],
        key=line["key"].encode(),
        headers=[(name, value.encode()) for name, value in line["headers"]],
        value=line["value"].encode(),
    )


def test_every_sampled_event_is_a_valid_minimised_event_of_the_municipality() -> None:
    sampled = lines(topics.integration(CODE))
    assert len(sampled) >= 5
    for line in sampled:
        assert line["topic"] == topics.integration(CODE)
        rec = record(line)
        event = CloudEvent.from_kafka(rec.headers, rec.value)
        registry.parse(event)  # a valid event of its contract
        assert event.type in MUNICIPALITY.fields, f"{event.type} is not for municipalities"
        assert set(event.data) <= MUNICIPALITY.fields[event.type], "only the allowed fields"
        assert line["key"] == event.subject, "keyed by case: one case's events in order"
        assert event.onbehalfof is None
        if "municipality" in event.data:
            assert event.data["municipality"] == CODE
    # Per partition the offsets run on without gaps, as a replay reproduces them.
    by_partition: dict[int, list[int]] = {}
    for line in sampled:
        by_partition.setdefault(line["partition"], []).append(line["offset"])
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets)))


def test_every_sampled_event_has_its_thin_notification() -> None:
    events = {
        str(CloudEvent.from_kafka(record(line).headers, record(line).value).id): line
        for line in lines(topics.integration(CODE))
    }
    thin = lines(topics.integration_thin(CODE))
    assert len(thin) == len(events)
    for line in thin:
        parsed = parse_thin_record(record(line))
        assert isinstance(parsed, ReceivedThin), parsed
        assert str(parsed.id) in events
        assert line["key"] == events[str(parsed.id)]["key"]
        assert line["key"] in parsed.notification.hoofd_object


def test_the_console_producer_files_hold_the_same_records() -> None:
    for name in (topics.integration(CODE), topics.integration_thin(CODE)):
        console = (SAMPLES / f"{name}.console.txt").read_text(encoding="utf-8").splitlines()
        sampled = lines(name)
        assert len(console) == len(sampled)
        for text, line in zip(console, sampled, strict=True):
            headers, key, value = text.split("\t")
            assert key == line["key"] and value == line["value"]
            assert headers.split(",") == [f"{n}:{v}" for n, v in line["headers"]]
