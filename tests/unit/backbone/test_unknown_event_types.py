"""A well-formed event of a type the contracts don't know is skipped, counted per type, and
logged once per type (a newer producer's types must not pass unseen)."""

from __future__ import annotations

import uuid

from faststream.kafka import KafkaBroker, TestKafkaBroker

from passend_backbone.consumer import MemoryBookkeeping, MemoryDeadLetters
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_backbone.metrics import MAX_UNKNOWN_TYPES, OTHER_TYPES, ServiceMetrics
from tests.unit.backbone.test_consumers_in_memory import (
    Acknowledger,
    Recorder,
    binary,
    consent_requested,
    publish,
)

FUTURE = "nl.passend.future.Thing.v1"
LATER = "nl.passend.future.Other.v2"


async def test_unknown_types_are_counted_with_their_type_and_logged_once_per_type() -> None:
    metrics = ServiceMetrics("t")
    log = Recorder()
    reactor = Acknowledger()
    consumers = Consumers(
        service="t",
        reactors=[reactor],
        store=InMemoryEventStore("/passend/t"),
        bookkeeping=MemoryBookkeeping(),
        dead_letters=MemoryDeadLetters(),
        broker=KafkaBroker(),
        log=log,
        on_unknown_type=metrics.unknown_type_skipped,
    )
    consumers.register()
    async with TestKafkaBroker(consumers.broker) as br:
        for event_type in (FUTURE, FUTURE, LATER, FUTURE):
            await publish(br, *binary(consent_requested(uuid.uuid4(), event_type=event_type)))

    assert reactor.calls == 0
    text = (await metrics.exposition()).decode()
    series = "passend_unknown_event_types_skipped_total"
    assert f'{series}{{consumer="acknowledger",event_type="{FUTURE}",service="t"}} 3.0' in text
    assert f'{series}{{consumer="acknowledger",event_type="{LATER}",service="t"}} 1.0' in text
    assert log.events.count("consumer.unknown_event_type_skipped") == 2


def test_a_flood_of_made_up_types_shares_one_series() -> None:
    metrics = ServiceMetrics("t")
    for n in range(MAX_UNKNOWN_TYPES + 10):
        metrics.unknown_type_skipped("c", f"made.up.{n}")
    labels = {
        s.labels["event_type"]
        for m in metrics.collectors.collect()
        if m.name == "passend_unknown_event_types_skipped"
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert len(labels) == MAX_UNKNOWN_TYPES + 1
    assert OTHER_TYPES in labels
