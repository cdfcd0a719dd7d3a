"""A reactor on FastStream's in-memory broker: each cause reacted to once, bad records set aside.

The same :class:`~passend_backbone.consumer.subscribers.Consumers` wiring as in production,
on ``TestKafkaBroker`` with the in-memory event store, bookkeeping and dead letters: no
broker, no database, milliseconds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker, TestKafkaBroker

from passend_backbone.consumer import MemoryBookkeeping, MemoryDeadLetters, reaction_id
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.eventstore import EventStore, Metadata, NewEvent
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_consumerkit.delivery import DLQ_STAGE, DLQ_TOPIC
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentRequested

TOPIC = topics.INTAKE
GROUP = "t.acknowledger"


class Acknowledger:
    """Appends one ``Acknowledged`` event per consumed event to the case's own stream."""

    name = "acknowledger"
    topics: tuple[str, ...] = (TOPIC,)

    def __init__(self) -> None:
        self.calls = 0

    async def react(
        self, conn: Any, event: CloudEvent, payload: EventPayload, store: EventStore
    ) -> None:
        self.calls += 1
        stream = f"ack-{event.subject}"
        version = len(await store.read_stream(stream, conn=conn))
        await store.append(
            stream,
            version,
            [
                NewEvent(
                    event_type="nl.passend.test.Acknowledged.v1",
                    data={"cause": str(event.id)},
                    event_id=reaction_id(self.name, event.id),
                )
            ],
            Metadata(
                swv=event.swv,
                actor="service:test",
                correlation_id=event.correlationid,
                causation_id=str(event.id),
            ),
            conn=conn,
        )


class Recorder:
    """A logger that remembers the event names it was given."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def bind(self, **_: object) -> Recorder:
        return self

    def _record(self, event: str, *_: object, **__: object) -> None:
        self.events.append(event)

    info = warning = error = exception = debug = _record


class Harness:
    """The consumers of service ``t`` with one reactor, on in-memory everything."""

    def __init__(self) -> None:
        self.log = Recorder()
        self.reactor = Acknowledger()
        self.store = InMemoryEventStore("/passend/t")
        self.bookkeeping = MemoryBookkeeping()
        self.dead_letters = MemoryDeadLetters()
        self.consumers = Consumers(
            service="t",
            reactors=[self.reactor],
            store=self.store,
            bookkeeping=self.bookkeeping,
            dead_letters=self.dead_letters,
            broker=KafkaBroker(),
            log=self.log,
        )
        self.consumers.register()

    def failures(self) -> list[str]:
        """The failure lines logged (a handler that raised would show here)."""
        return [e for e in self.log.events if e.startswith("consumer.") and "fail" in e]


def consent_requested(case_id: uuid.UUID, event_type: str | None = None) -> CloudEvent:
    payload = ConsentRequested(case_id=case_id, requested_by="ib-1", requested_at=datetime.now(UTC))
    return CloudEvent(
        id=uuid.uuid4(),
        source="/passend/intake",
        type=event_type or payload.event_type,
        subject=str(case_id),
        time=datetime.now(UTC),
        swv="swv-test",
        correlationid="corr",
        causationid="cause",
        actor="tester",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


def binary(event: CloudEvent) -> tuple[bytes, dict[str, str], bytes]:
    """The event's Kafka record in binary content mode, headers as FastStream takes them."""
    key, headers, value = event.to_kafka()
    return key, {name: raw.decode() for name, raw in headers}, value


async def publish(broker: Any, key: bytes, headers: dict[str, str], value: bytes) -> None:
    await broker.publish(value, TOPIC, key=key, headers=headers)


async def test_a_cause_published_twice_is_reacted_to_once() -> None:
    h = Harness()
    event = consent_requested(uuid.uuid4())
    async with TestKafkaBroker(h.consumers.broker) as br:
        await publish(br, *binary(event))
        await publish(br, *binary(event))  # the relay may publish an event twice

    [reaction] = await h.store.read_all()
    assert reaction.stream_id == f"ack-{event.subject}"
    assert reaction.event_id == reaction_id("acknowledger", event.id)
    assert reaction.data == {"cause": str(event.id)}
    assert h.reactor.calls == 1  # the second delivery found the cause marked handled
    assert h.bookkeeping.handled == {("acknowledger", event.id)}
    assert h.dead_letters.sent == []
    assert h.failures() == []


async def test_a_cause_whose_handled_mark_was_lost_still_appends_once() -> None:
    # The reaction's deterministic id makes its append a no-op the second time, even when
    # the consumer has no record of having handled the cause.
    h = Harness()
    event = consent_requested(uuid.uuid4())
    async with TestKafkaBroker(h.consumers.broker) as br:
        await publish(br, *binary(event))
    h.bookkeeping.handled.clear()
    async with TestKafkaBroker(h.consumers.broker) as br:
        await publish(br, *binary(event))

    assert h.reactor.calls == 2
    [reaction] = await h.store.read_all()
    assert reaction.event_id == reaction_id("acknowledger", event.id)
    assert h.failures() == []


async def test_an_unparseable_record_is_dead_lettered_at_the_parse_stage() -> None:
    h = Harness()
    good = consent_requested(uuid.uuid4())
    key, headers, _ = binary(good)
    async with TestKafkaBroker(h.consumers.broker) as br:
        await publish(br, key, headers, b"{not json")
        await publish(br, *binary(good))  # the consumer goes on after the bad record

    [(topic, record, dlq_headers)] = h.dead_letters.sent
    assert topic == topics.dead_letter(TOPIC, GROUP)
    assert record.value == b"{not json"
    reasons = dict(dlq_headers)
    assert reasons[DLQ_STAGE] == b"parse"
    assert reasons[DLQ_TOPIC] == TOPIC.encode()
    assert [e.data for e in await h.store.read_all()] == [{"cause": str(good.id)}]
    assert h.log.events == ["consumer.dead_lettered"]


async def test_an_unknown_event_type_is_skipped() -> None:
    h = Harness()
    future = consent_requested(uuid.uuid4(), event_type="nl.passend.future.Thing.v1")
    async with TestKafkaBroker(h.consumers.broker) as br:
        await publish(br, *binary(future))

    assert h.reactor.calls == 0
    assert await h.store.read_all() == []
    assert h.dead_letters.sent == []
    assert h.bookkeeping.handled == set()
    assert h.failures() == []
