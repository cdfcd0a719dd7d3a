"""The recorded sample of a municipality's integration topics stays what the gateway publishes.

``contracts/samples/`` holds what a real run of the gateway published to
``passend.integration.gm0622`` and its ``.thin`` companion, as files an integrator replays
without Passend (docs/integrators.md). This test runs the gateway on the same cases and
compares what it publishes now with the files, record for record (event types, data
fields, headers, keys); ``PASSEND_RECORD_SAMPLES=1`` writes the files from the run
instead. ``tests/unit/test_integration_sample.py`` checks the files against the contracts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest

from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker
from tests.integration.gateway.kit import publish, read_topic, running_gateway, wait_handled
from tests.topics import on_broker
from tests.unit.gateway.factory import (
    claimed,
    closed,
    decided,
    envelope,
    escalated,
    later,
    submitted,
    youth_care,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "contracts" / "samples"
MUNICIPALITY = "GM0622"


def case(name: str) -> Any:
    return uuid5(NAMESPACE_URL, f"https://passend.example/sample/{name}")


def sample_events() -> list[CloudEvent]:
    """Two cases of Vlaardingen (one escalated and closed, one held until it escalates) and
    one of Schiedam, which Vlaardingen never sees."""
    a, b, other = case("a"), case("b"), case("other")
    esc_a = escalated(a, MUNICIPALITY, later(40))
    payloads = [
        (submitted(a), 0),
        (claimed(a, later(10)), 10),
        (youth_care(a, later(20)), 20),
        (esc_a, 40),
        (decided(a, esc_a.escalation_id, later(60)), 60),
        (closed(a, later(90)), 90),
        (youth_care(b, later(30)), 30),
        (escalated(b, MUNICIPALITY, later(50)), 50),
        (escalated(other, "GM0606", later(55)), 55),
    ]
    return [envelope(p, at=later(m), version=i + 1) for i, (p, m) in enumerate(payloads)]


def as_line(topic: str, record: Any) -> dict[str, Any]:
    """One record as a line of the sample: exactly the bytes a consumer receives."""
    return {
        "topic": topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode(),
        "headers": [[name, bytes(value).decode()] for name, value in record.headers],
        "value": record.value.decode(),
    }


def console_line(line: dict[str, Any]) -> str:
    """The line ``kafka-console-producer.sh --property parse.key=true --property
    parse.headers=true`` reads: ``h1:v1,h2:v2<TAB>key<TAB>value``."""
    headers = ",".join(f"{name}:{value}" for name, value in line["headers"])
    return f"{headers}\t{line['key']}\t{line['value']}"


def shape(line: dict[str, Any]) -> tuple[Any, ...]:
    """What must stay the same between runs (ids and times of the events differ)."""
    headers = dict(line["headers"])
    value = json.loads(line["value"])
    kind = headers.get("ce_type") or f"{value.get('resource')} {value.get('actie')}"
    return (line["topic"], line["key"], kind, tuple(h for h, _ in line["headers"]), sorted(value))


def read_sample(name: str) -> list[dict[str, Any]]:
    path = SAMPLES / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_the_gateway_still_publishes_what_the_sample_shows(
    db_url: str, broker: Broker
) -> None:
    events = sample_events()
    await publish(broker, events)
    async with running_gateway(db_url, broker):
        await wait_handled(db_url, events)
        recorded: dict[str, list[dict[str, Any]]] = {}
        for name in (topics.integration(MUNICIPALITY), topics.integration_thin(MUNICIPALITY)):
            records = await read_topic(broker, on_broker(name))
            lines = [as_line(name, r) for r in records]
            recorded[name] = sorted(lines, key=lambda r: (r["partition"], r["offset"]))

    if os.environ.get("PASSEND_RECORD_SAMPLES") == "1":
        SAMPLES.mkdir(parents=True, exist_ok=True)
        for name, lines in recorded.items():
            (SAMPLES / f"{name}.jsonl").write_text(
                "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
            )
            (SAMPLES / f"{name}.console.txt").write_text(
                "".join(console_line(line) + "\n" for line in lines)
            )
    for name, lines in recorded.items():
        assert lines, f"the gateway published nothing to {name}"
        assert sorted(map(shape, lines)) == sorted(map(shape, read_sample(name))), (
            f"{name} differs from contracts/samples: record it again "
            "(PASSEND_RECORD_SAMPLES=1) and say so in the integrators' changelog"
        )
