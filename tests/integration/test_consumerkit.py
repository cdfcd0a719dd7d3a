"""The consumer kit reports invalid messages and goes on; it commits only what was handled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from passend_backbone import kafka_io
from passend_backbone.kafka_settings import BrokerKind, producer_settings
from passend_consumerkit import (
    InvalidEventError,
    InvalidMessage,
    Received,
    ReceivedThin,
    ThinNotification,
    subscribe,
    subscribe_thin,
)
from passend_consumerkit.thin import kafka_record
from passend_contracts.events.trajectory import EscalatedToTeamNO, TrajectoryClosed
from passend_devstack.infra import Broker
from tests.unit.gateway.factory import closed, envelope, escalated, later

pytestmark = pytest.mark.integration

Record = tuple[bytes, list[tuple[str, bytes]], bytes | None]
CASE = uuid4()


async def produce(broker: Broker, topic: str, records: Sequence[Record]) -> None:
    await kafka_io.ensure_topics(broker.bootstrap_servers, [topic])
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers, **producer_settings(kind)
    )
    await producer.start()
    try:
        for key, headers, value in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


def valid(minutes: int) -> tuple[Record, str]:
    event = envelope(closed(CASE, later(minutes)), at=later(minutes))
    return event.to_kafka(), str(event.id)


def broken_data() -> Record:
    """A known type whose data misses a required field."""
    key, headers, _ = envelope(escalated(CASE, "GM0622")).to_kafka()
    return key, headers, b'{"case_id": "' + str(CASE).encode() + b'"}'


def unknown_type() -> Record:
    key, headers, value = envelope(closed(CASE)).to_kafka()
    headers = [
        (k, b"nl.passend.trajectory.Invented.v9" if k == "ce_type" else v) for k, v in headers
    ]
    return key, headers, value


async def take(subscription: Any, n: int, stop: asyncio.Event) -> list[Any]:
    """The first ``n`` items of ``subscription``; then ``stop`` ends it after the last returned."""
    items: list[Any] = []

    async def run() -> None:
        async for item in subscription:
            items.append(item)
            if len(items) == n:
                stop.set()

    await asyncio.wait_for(run(), timeout=60)
    return items


async def test_invalid_messages_go_to_the_callback_and_consumption_goes_on(
    broker: Broker, topic_name: str
) -> None:
    (first, first_id), (second, second_id), (third, third_id) = valid(1), valid(2), valid(3)
    key = str(CASE).encode()
    await produce(
        broker,
        topic_name,
        [first, (key, [], b"not json at all"), broken_data(), unknown_type(), second],
    )
    reported: list[InvalidMessage] = []

    async def on_invalid(message: InvalidMessage) -> None:
        reported.append(message)

    group = f"kit-{uuid4().hex[:8]}"
    options: dict[str, Any] = {"topics": [topic_name], "group_id": group, "kind": broker.kind}
    stop = asyncio.Event()
    async with subscribe(
        broker.bootstrap_servers, on_invalid=on_invalid, stop=stop, **options
    ) as events:
        got = await take(events, 2, stop)
    assert [str(r.id) for r in got if isinstance(r, Received)] == [first_id, second_id]
    assert all(isinstance(r.payload, TrajectoryClosed) for r in got if isinstance(r, Received))
    assert [m.problem for m in reported] == ["malformed", "invalid", "unknown_type"]
    assert [m.position.offset for m in reported] == [1, 2, 3]
    assert "draft_plan" in reported[1].reason
    assert reported[0].value == b"not json at all"  # kept whole, to store or alert on

    # The same group again: everything above was committed, only the new event comes.
    await produce(broker, topic_name, [third])
    stop.clear()
    async with subscribe(
        broker.bootstrap_servers, on_invalid=on_invalid, stop=stop, **options
    ) as events:
        again = await take(events, 1, stop)
    assert [str(r.id) for r in again if isinstance(r, Received)] == [third_id]
    assert len(reported) == 3


async def test_an_event_whose_handler_failed_comes_again(broker: Broker, topic_name: str) -> None:
    (first, first_id), (second, _) = valid(1), valid(2)
    await produce(broker, topic_name, [first, second])
    stop = asyncio.Event()
    options: dict[str, Any] = {
        "topics": [topic_name],
        "group_id": f"kit-{uuid4().hex[:8]}",
        "kind": broker.kind,
    }

    async def failing_handler() -> None:
        async with subscribe(broker.bootstrap_servers, **options) as events:
            async for received in events:
                assert str(received.id) == first_id
                raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing_handler()

    async with subscribe(broker.bootstrap_servers, stop=stop, **options) as events:
        again = await take(events, 1, stop)
    assert [str(r.id) for r in again if isinstance(r, Received)] == [first_id]


async def test_raise_policy_stops_at_an_invalid_message_and_keeps_it(
    broker: Broker, topic_name: str
) -> None:
    (first, first_id), (second, _) = valid(1), valid(2)
    await produce(broker, topic_name, [first, broken_data(), second])
    options: dict[str, Any] = {
        "topics": [topic_name],
        "group_id": f"kit-{uuid4().hex[:8]}",
        "kind": broker.kind,
    }
    handled: list[str] = []

    async def handle_all() -> None:
        async with subscribe(broker.bootstrap_servers, on_invalid="raise", **options) as events:
            async for received in events:
                handled.append(str(received.id))

    for attempt in range(2):  # after a restart it is still there: not committed
        with pytest.raises(InvalidEventError, match="invalid") as raised:
            await handle_all()
        assert raised.value.message.position.offset == 1
        assert handled == [first_id], f"attempt {attempt}"


async def test_only_the_wanted_event_types_are_yielded(broker: Broker, topic_name: str) -> None:
    escalation = envelope(escalated(CASE, "GM0622"))
    (first, _), (second, _) = valid(1), valid(2)
    await produce(broker, topic_name, [first, escalation.to_kafka(), second])
    stop = asyncio.Event()
    options: dict[str, Any] = {
        "topics": [topic_name],
        "group_id": f"kit-{uuid4().hex[:8]}",
        "kind": broker.kind,
    }
    async with subscribe(
        broker.bootstrap_servers, event_types=[EscalatedToTeamNO], stop=stop, **options
    ) as events:
        got = await take(events, 1, stop)
    assert [r.id for r in got if isinstance(r, Received)] == [escalation.id]


async def test_thin_notifications_are_parsed_and_a_headerless_one_is_reported(
    broker: Broker, topic_name: str
) -> None:
    note = ThinNotification(
        kanaal="passend.cases",
        hoofd_object=f"https://trajectory.example.nl/cases/{CASE}/trajectory",
        resource="escalation",
        resource_url=f"https://trajectory.example.nl/cases/{CASE}/trajectory",
        actie="create",
        aanmaakdatum=later(0),
        kenmerken={"swv": "swv-waterweg"},
    )
    notification_id = uuid4()
    good = kafka_record(notification_id, str(CASE), note)
    await produce(broker, topic_name, [(good[0], [], good[2]), good])
    reported: list[InvalidMessage] = []

    async def on_invalid(message: InvalidMessage) -> None:
        reported.append(message)

    stop = asyncio.Event()
    options: dict[str, Any] = {
        "topics": [topic_name],
        "group_id": f"kit-{uuid4().hex[:8]}",
        "kind": broker.kind,
    }
    async with subscribe_thin(
        broker.bootstrap_servers, on_invalid=on_invalid, stop=stop, **options
    ) as notes:
        got = await take(notes, 1, stop)
    assert [(r.id, r.notification) for r in got if isinstance(r, ReceivedThin)] == [
        (notification_id, note)
    ]
    assert [m.problem for m in reported] == ["malformed"]
