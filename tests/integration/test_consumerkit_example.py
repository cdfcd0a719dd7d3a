"""The example municipality builds its escalation list from offset zero, for its region, once;
keeps what is not a valid event, and waits out its own database being locked."""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from passend_backbone import kafka_io
from passend_backbone.kafka_settings import BrokerKind, producer_settings
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.gateway.kit import publish, running_gateway, unique, wait_handled
from tests.topics import on_broker
from tests.unit.gateway.factory import decided, envelope, escalated, later, youth_care

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "consumerkit" / "examples" / "municipality_escalations.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("municipality_escalations", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


example = load_example()


def events_of(*payloads: EventPayload) -> list[CloudEvent]:
    return [envelope(p, at=later(i), version=i + 1) for i, p in enumerate(payloads)]


def count(db_path: Path, table: str) -> int:
    db = example.open_db(db_path)  # the example may not have created its tables yet
    try:
        found: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return found
    finally:
        db.close()


async def produce(broker: Broker, topic: str, records: list[tuple[Any, Any, Any]]) -> None:
    """Write ``records`` (key, headers, value) to ``topic`` as they are, as a gateway would."""
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


def rows(db_path: Path) -> list[tuple[Any, ...]]:
    db = example.open_db(db_path)  # the example may not have created its tables yet
    try:
        return db.execute(
            "SELECT case_id, municipality, decision FROM escalations ORDER BY case_id"
        ).fetchall()
    finally:
        db.close()


async def run_until(
    broker: Broker, region: str, db_path: Path, done: Any, *, group_id: str | None = None
) -> Any:
    """Run the example until ``done(progress)`` holds, then stop it as SIGTERM would."""
    stop, progress = asyncio.Event(), example.Progress()
    task = asyncio.create_task(
        example.run(
            broker.bootstrap_servers,
            region,
            db_path,
            kind=broker.kind,
            group_id=group_id,
            stop=stop,
            progress=progress,
            topic_prefix=on_broker(""),
        )
    )

    async def reached() -> bool:
        if task.done():
            await task  # raises what stopped it
        return bool(done(progress))

    try:
        await eventually(reached, timeout=60, what="the example's list")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    return progress


async def test_example_builds_its_regions_list_survives_a_restart_and_doubles_nothing(
    db_url: str, broker: Broker, tmp_path: Path
) -> None:
    mine, other = unique("Vlaardingen"), unique("Schiedam")
    a1, a2, a3, b1, b2 = (uuid4() for _ in range(5))
    esc_a1, esc_b1 = escalated(a1, mine), escalated(b1, other)
    first_batch = [
        *events_of(youth_care(a1), esc_a1, decided(a1, esc_a1.escalation_id)),
        *events_of(escalated(a2, mine)),
        *events_of(esc_b1, decided(b1, esc_b1.escalation_id)),
        *events_of(youth_care(uuid4())),  # a case of no known region
    ]
    db_path = tmp_path / "escalations.sqlite"
    expected_first = [(str(a1), mine, "Bridging care until a place is free"), (str(a2), mine, None)]

    await publish(broker, first_batch)
    async with running_gateway(db_url, broker):
        await wait_handled(db_url, first_batch)

        # From offset zero: a new group reads the region's topic from its start.
        first = await run_until(
            broker, mine, db_path, lambda p: rows(db_path) == sorted(expected_first)
        )
        assert (first.seen, first.applied, first.duplicates) == (3, 3, 0)

        # A restart goes on where it stopped: only the new escalation is read.
        second_batch = [*events_of(escalated(a3, mine)), *events_of(escalated(b2, other))]
        await publish(broker, second_batch)
        await wait_handled(db_url, second_batch)
        expected = sorted([*expected_first, (str(a3), mine, None)])
        second = await run_until(broker, mine, db_path, lambda p: rows(db_path) == expected)
        assert second.applied == 1

        # Read everything again (a new group): every event is a duplicate, nothing doubles.
        again = await run_until(
            broker, mine, db_path, lambda p: p.seen >= 4, group_id=f"{uuid4().hex}.replay"
        )
        assert (again.seen, again.applied, again.duplicates) == (4, 0, 4)
        assert rows(db_path) == expected

    # Its region only: no case of the other region, no municipality but its own.
    assert {UUID(case) for case, _, _ in rows(db_path)} == {a1, a2, a3}
    assert {m for _, m, _ in rows(db_path)} == {mine}
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("SELECT count(*) FROM handled_events").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM rejected_messages").fetchone() == (0,)
    finally:
        db.close()


async def test_example_keeps_an_invalid_message_and_waits_out_its_locked_database(
    broker: Broker, tmp_path: Path
) -> None:
    region = unique("Vlaardingen")
    topic = topics.integration(region)  # no service involved: the plain name
    first, second = escalated(uuid4(), region), escalated(uuid4(), region)
    garbage: tuple[bytes, list[tuple[str, bytes]], bytes] = (
        str(first.case_id).encode(),
        [],
        b"not an event at all",
    )
    await produce(broker, topic, [envelope(first).to_kafka(), garbage])
    db_path = tmp_path / "escalations.sqlite"
    stop, progress = asyncio.Event(), example.Progress()
    task = asyncio.create_task(
        example.run(
            broker.bootstrap_servers,
            region,
            db_path,
            kind=broker.kind,
            stop=stop,
            progress=progress,
            retries=1,
        )
    )

    async def reached(condition: Any, what: str) -> None:
        async def probe() -> bool:
            if task.done():
                await task  # raises what stopped it
            return bool(condition())

        await eventually(probe, timeout=60, what=what)

    try:
        # The invalid record is reported into the example's own table, whole: not lost.
        await reached(lambda: count(db_path, "rejected_messages") == 1, "the record kept")
        assert rows(db_path) == [(str(first.case_id), region, None)]

        # Its database locked by someone else: the event waits, retried more often than
        # `retries` allows for a failing event, and is applied once the lock is gone.
        lock = sqlite3.connect(db_path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            await produce(broker, topic, [envelope(second).to_kafka()])
            await reached(lambda: progress.failed >= 3, "attempts while the file is locked")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        expected = sorted([(str(first.case_id), region, None), (str(second.case_id), region, None)])
        await reached(lambda: rows(db_path) == expected, "the second escalation applied")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    db = sqlite3.connect(db_path)
    try:
        [(offset, reason, value)] = db.execute(
            'SELECT "offset", reason, value FROM rejected_messages'
        ).fetchall()
    finally:
        db.close()
    assert (offset, value) == (1, b"not an event at all")
    assert reason.startswith("parse: ") and "malformed" in reason
    assert progress.applied == 2, "nothing set aside for the lock, nothing applied twice"
