"""What docs/integrators.md says about clients other than Passend's own, checked where they exist.

librdkafka-based clients are what most municipalities' systems use. Each test runs when
its client is installed (``confluent-kafka`` for Python, ``kcat`` on the PATH) and skips,
saying so, otherwise; none of them is a dependency of Passend. Both replay the recorded
sample (``contracts/samples/``) the way the integrators' page tells them to.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from passend_backbone import kafka_io
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "contracts/samples/passend.integration.gm0622.jsonl"


def sample() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def replay_and_read(bootstrap: str, topic: str) -> list[CloudEvent]:
    """Replay the sample with confluent-kafka and read it back in a consumer group."""
    confluent_kafka = pytest.importorskip(
        "confluent_kafka", reason="confluent-kafka (librdkafka) is not installed here"
    )
    lines = sample()
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for line in lines:
        producer.produce(
            topic,
            key=line["key"].encode(),
            value=line["value"].encode(),
            headers=[(name, value.encode()) for name, value in line["headers"]],
        )
    assert producer.flush(30) == 0, "every record acknowledged"
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"gm0622.sample-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    events: list[CloudEvent] = []
    deadline = time.monotonic() + 60
    try:
        while len(events) < len(lines) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            events.append(CloudEvent.from_kafka(message.headers() or [], message.value()))
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return events


async def test_confluent_kafka_replays_and_reads_the_sample(broker: Broker) -> None:
    topic = f"sample.{uuid.uuid4().hex[:8]}"
    await kafka_io.ensure_topics(broker.bootstrap_servers, [topic])
    events = await asyncio.to_thread(replay_and_read, broker.bootstrap_servers, topic)
    expected = [
        CloudEvent.from_kafka([(n, v.encode()) for n, v in line["headers"]], line["value"].encode())
        for line in sample()
    ]
    assert sorted(e.id for e in events) == sorted(e.id for e in expected)


async def test_kcat_against_the_broker(broker: Broker) -> None:
    """kcat 1.7 (librdkafka 2.0) fails the dev broker's ApiVersions handshake: said in the
    docs. On Apache Kafka it replays the sample as the docs show."""
    if shutil.which("kcat") is None:
        pytest.skip("kcat is not installed here")
    listing = await asyncio.to_thread(
        subprocess.run,
        ["kcat", "-b", broker.bootstrap_servers, "-L", "-m", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if broker.kind == "tansu":
        assert "ApiVersionRequest failed" in listing.stderr, listing.stderr
        return
    assert listing.returncode == 0, listing.stderr
    topic = f"sample.{uuid.uuid4().hex[:8]}"
    await kafka_io.ensure_topics(broker.bootstrap_servers, [topic])
    for line in sample():
        headers = [arg for name, value in line["headers"] for arg in ("-H", f"{name}={value}")]
        done = await asyncio.to_thread(
            subprocess.run,
            [
                "kcat",
                "-b",
                broker.bootstrap_servers,
                "-P",
                "-t",
                topic,
                "-k",
                line["key"],
                *headers,
            ],
            input=line["value"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    read = await asyncio.to_thread(
        subprocess.run,
        ["kcat", "-b", broker.bootstrap_servers, "-C", "-t", topic, "-e", "-f", "%s\n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(read.stdout.splitlines()) == len(sample())
    assert topics.integration("GM0622") in SAMPLE.name
