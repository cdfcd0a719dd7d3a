"""The consumer kit on FastStream: invalid and poison records set aside, transient failures
retried without limit, and at-least-once across a process killed mid-batch."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from passend_backbone import kafka_io
from passend_backbone.kafka_settings import BrokerKind, producer_settings
from passend_consumerkit import (
    DeliveryPolicy,
    Failure,
    Received,
    ReceivedThin,
    Subscription,
    ThinNotification,
    invalid_message,
    is_transient_kafka,
    subscribe,
    subscribe_thin,
)
from passend_consumerkit.thin import kafka_record
from passend_contracts.events.trajectory import EscalatedToTeamNO, TrajectoryClosed
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.unit.gateway.factory import closed, envelope, escalated, later

pytestmark = pytest.mark.integration

Record = tuple[bytes, list[tuple[str, bytes]], bytes | None]
CASE = uuid4()
REPO = Path(__file__).parents[2]


async def produce(broker: Broker, topic: str, records: Sequence[Record]) -> None:
    await kafka_io.ensure_topics(broker.bootstrap_servers, [topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers, **producer_settings(kind_of(broker))
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


class SetAside:
    """A policy's ``set_aside`` callback keeping what it was given, as a table would."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []

    async def __call__(self, failure: Failure) -> None:
        self.failures.append(failure)

    def offsets(self) -> list[int]:
        return [f.record.offset for f in self.failures]


def kind_of(broker: Broker) -> BrokerKind:
    return "kafka" if broker.kind == "kafka" else "tansu"


def group() -> str:
    return f"kit-{uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def consuming(
    broker: Broker, register: Callable[[KafkaBroker], Subscription[Any]]
) -> AsyncIterator[Subscription[Any]]:
    """A municipality's FastStream broker with one subscription, running until the block ends."""
    kafka = KafkaBroker(broker.bootstrap_servers, graceful_timeout=5)
    subscription = register(kafka)
    await kafka.start()
    try:
        yield subscription
    finally:
        subscription.stop()
        await kafka.stop()


async def until(condition: Callable[[], bool], what: str) -> None:
    async def probe() -> bool:
        return condition()

    await eventually(probe, timeout=60, what=what)


async def test_invalid_messages_are_set_aside_and_consumption_goes_on(
    broker: Broker, topic_name: str
) -> None:
    (first, first_id), (second, second_id), (third, third_id) = valid(1), valid(2), valid(3)
    key = str(CASE).encode()
    await produce(
        broker,
        topic_name,
        [first, (key, [], b"not json at all"), broken_data(), unknown_type(), second],
    )
    handled: list[Received] = []
    aside = SetAside()

    async def handle(received: Received) -> None:
        handled.append(received)

    name = group()

    def register(kafka: KafkaBroker) -> Subscription[Received]:
        return subscribe(
            kafka,
            topics=[topic_name],
            group_id=name,
            kind=kind_of(broker),
            handler=handle,
            policy=DeliveryPolicy(set_aside=aside),
        )

    async with consuming(broker, register):
        await until(lambda: len(handled) == 2 and len(aside.failures) == 3, "2 handled, 3 aside")
    assert [str(r.id) for r in handled] == [first_id, second_id]
    assert all(isinstance(r.payload, TrajectoryClosed) for r in handled)
    assert aside.offsets() == [1, 2, 3]
    assert {f.stage for f in aside.failures} == {"parse"}
    reported = [invalid_message(f) for f in aside.failures]
    assert [m.problem for m in reported if m] == ["malformed", "invalid", "unknown_type"]
    assert "draft_plan" in aside.failures[1].reason
    assert aside.failures[0].record.value == b"not json at all"  # kept whole, to store

    # The same group again: everything above was committed, only the new event comes.
    await produce(broker, topic_name, [third])
    handled.clear()
    async with consuming(broker, register):
        await until(lambda: len(handled) == 1, "the new event")
    assert [str(r.id) for r in handled] == [third_id]
    assert len(aside.failures) == 3


async def test_a_poison_event_is_retried_then_set_aside_and_the_rest_goes_on(
    broker: Broker, topic_name: str
) -> None:
    (first, first_id), (poison, poison_id), (last, last_id) = valid(1), valid(2), valid(3)
    await produce(broker, topic_name, [first, poison, last])
    calls: Counter[str] = Counter()
    aside = SetAside()

    async def handle(received: Received) -> None:
        calls[str(received.id)] += 1
        if str(received.id) == poison_id:
            raise ValueError("this event breaks our import")

    name = group()

    def register(kafka: KafkaBroker) -> Subscription[Received]:
        return subscribe(
            kafka,
            topics=[topic_name],
            group_id=name,
            kind=kind_of(broker),
            handler=handle,
            policy=DeliveryPolicy(retries=3, backoff_base=0.01, set_aside=aside),
        )

    async with consuming(broker, register):
        await until(lambda: calls[last_id] >= 1 and bool(aside.failures), "the poison set aside")
    assert calls[poison_id] == 3, "tried as often as the policy says, then set aside"
    [failure] = aside.failures
    assert (failure.stage, failure.record.offset) == ("handle", 1)
    assert "this event breaks our import" in failure.reason
    assert calls[first_id] >= 1 and calls[last_id] == 1

    # Committed: the same group gets nothing of it again.
    await produce(broker, topic_name, [valid(4)[0]])
    before = sum(calls.values())
    async with consuming(broker, register):
        await until(lambda: sum(calls.values()) == before + 1, "only the new event")
    assert calls[poison_id] == 3 and len(aside.failures) == 1


class DatabaseGone(ConnectionError):
    """The municipality's own database is not there (restarting)."""


async def test_a_transient_failure_is_retried_until_it_passes_and_never_set_aside(
    broker: Broker, topic_name: str
) -> None:
    (first, first_id), (second, second_id) = valid(1), valid(2)
    await produce(broker, topic_name, [first, second])
    outages = 7  # more failures in a row than the retries: they must not count
    attempts: Counter[str] = Counter()
    applied: list[str] = []
    aside = SetAside()

    async def handle(received: Received) -> None:
        attempts[str(received.id)] += 1
        if str(received.id) == first_id and attempts[first_id] <= outages:
            raise DatabaseGone("connection refused")
        applied.append(str(received.id))

    def ours(exc: BaseException) -> bool:
        return is_transient_kafka(exc) or isinstance(exc, DatabaseGone)

    def register(kafka: KafkaBroker) -> Subscription[Received]:
        return subscribe(
            kafka,
            topics=[topic_name],
            group_id=group(),
            kind=kind_of(broker),
            handler=handle,
            policy=DeliveryPolicy(
                retries=2, backoff_base=0.01, backoff_cap=0.05, transient=ours, set_aside=aside
            ),
        )

    async with consuming(broker, register):
        await until(lambda: applied == [first_id, second_id], "both applied after the outage")
    assert attempts[first_id] == outages + 1
    assert aside.failures == [], "a transient failure sets nothing aside"


async def test_a_batch_handler_gets_the_batch_and_a_poison_event_is_found_alone(
    broker: Broker, topic_name: str
) -> None:
    records = [valid(i) for i in range(1, 5)]
    await produce(broker, topic_name, [r for r, _ in records])
    ids = [i for _, i in records]
    poison = ids[2]
    applied: list[str] = []
    sizes: list[int] = []
    aside = SetAside()

    async def handle_batch(batch: Sequence[Received]) -> None:
        sizes.append(len(batch))
        if any(str(r.id) == poison for r in batch):
            raise ValueError("one bad event spoils our transaction")
        applied.extend(str(r.id) for r in batch if str(r.id) not in applied)

    def register(kafka: KafkaBroker) -> Subscription[Received]:
        return subscribe(
            kafka,
            topics=[topic_name],
            group_id=group(),
            kind=kind_of(broker),
            batch_handler=handle_batch,
            policy=DeliveryPolicy(retries=2, backoff_base=0.01, set_aside=aside),
        )

    async with consuming(broker, register):
        await until(lambda: bool(aside.failures) and len(applied) == 3, "the others applied")
    assert sorted(applied) == sorted(i for i in ids if i != poison)
    assert [f.record.offset for f in aside.failures] == [2]
    assert max(sizes) > 1, "events come as a batch"


async def test_only_the_wanted_event_types_reach_the_handler(
    broker: Broker, topic_name: str
) -> None:
    escalation = envelope(escalated(CASE, "GM0622"))
    (first, _), (second, _) = valid(1), valid(2)
    await produce(broker, topic_name, [first, escalation.to_kafka(), second])
    handled: list[Received] = []

    async def handle(received: Received) -> None:
        handled.append(received)

    def register(kafka: KafkaBroker) -> Subscription[Received]:
        return subscribe(
            kafka,
            topics=[topic_name],
            group_id=group(),
            kind=kind_of(broker),
            event_types=[EscalatedToTeamNO],
            handler=handle,
        )

    async with consuming(broker, register) as subscription:
        await until(lambda: len(handled) == 1, "the escalation")
        # The unwanted events are committed too: nothing of the topic is left behind.
        await until(lambda: sum(subscription.delivery.committed.values()) == 3, "all committed")
    assert [r.id for r in handled] == [escalation.id]


async def test_thin_notifications_are_parsed_and_a_headerless_one_is_set_aside(
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
    handled: list[ReceivedThin] = []
    aside = SetAside()

    async def handle(received: ReceivedThin) -> None:
        handled.append(received)

    def register(kafka: KafkaBroker) -> Subscription[ReceivedThin]:
        return subscribe_thin(
            kafka,
            topics=[topic_name],
            group_id=group(),
            kind=kind_of(broker),
            handler=handle,
            policy=DeliveryPolicy(set_aside=aside),
        )

    async with consuming(broker, register):
        await until(lambda: len(handled) == 1 and len(aside.failures) == 1, "one each")
    assert [(r.id, r.notification) for r in handled] == [(notification_id, note)]
    assert [m.problem for m in map(invalid_message, aside.failures) if m] == ["malformed"]


# A municipality's consumer as its own process: every delivery and the handled id are
# written in one SQLite transaction per event; with --kill-at it is killed (SIGKILL) right
# after committing that event, before the kit committed the batch's offsets.
CONSUMER = """
import asyncio, os, signal, sqlite3, sys
from faststream.kafka import KafkaBroker
from passend_consumerkit import subscribe

bootstrap, kind, topic, group, path, kill_at = sys.argv[1:7]
db = sqlite3.connect(path, isolation_level=None)
db.executescript(
    "CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY);"
)

async def handle(received):
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO deliveries VALUES (?)", (str(received.id),))
    db.execute("INSERT INTO handled VALUES (?) ON CONFLICT DO NOTHING", (str(received.id),))
    db.execute("COMMIT")
    if str(received.id) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

async def main():
    broker = KafkaBroker(bootstrap)
    subscribe(broker, topics=[topic], group_id=group, kind=kind, handler=handle)
    await broker.start()
    await asyncio.Event().wait()

asyncio.run(main())
"""


def read(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []  # the consumer has not made its tables yet
    finally:
        db.close()


async def test_an_event_handled_before_the_process_was_killed_comes_again_and_none_is_lost(
    broker: Broker, topic_name: str, tmp_path: Path
) -> None:
    records = [valid(i) for i in range(1, 7)]
    ids = [i for _, i in records]
    await produce(broker, topic_name, [r for r, _ in records[:4]])
    db_path, name = tmp_path / "municipality.sqlite", group()

    def start(kill_at: str) -> subprocess.Popen[bytes]:
        argv = [broker.bootstrap_servers, broker.kind, topic_name, name, str(db_path), kill_at]
        return subprocess.Popen([sys.executable, "-c", CONSUMER, *argv], cwd=REPO)

    killed = start(kill_at=ids[2])
    code = await asyncio.wait_for(asyncio.to_thread(killed.wait), 60)
    assert code == -signal.SIGKILL
    assert {r[0] for r in read(db_path, "SELECT event_id FROM handled")} >= set(ids[:3])

    await produce(broker, topic_name, [r for r, _ in records[4:]])
    restarted = start(kill_at="")
    try:

        async def all_handled() -> bool:
            return {r[0] for r in read(db_path, "SELECT event_id FROM handled")} == set(ids)

        await eventually(all_handled, timeout=60, what="every event after the restart")
    finally:
        restarted.kill()
        restarted.wait()
    delivered = Counter(r[0] for r in read(db_path, "SELECT event_id FROM deliveries"))
    assert delivered[ids[2]] == 2, "handled, killed before its offset was committed: again"
    assert set(delivered) == set(ids), "none lost"
    assert len(read(db_path, "SELECT event_id FROM handled")) == len(ids), "none doubled"
