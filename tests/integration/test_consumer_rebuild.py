"""A rebuild gives the live read model's content while the old generation keeps serving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.rebuild import RebuildConflict, RebuildProgress, rebuild
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import migrate
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    CountingProjection,
    consent_requested,
    counts,
    create_topic,
    produce,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await migrate(pool, ["passend_backbone.migrations"])
    return pool


@pytest.fixture
async def topic(broker: Broker, topic_name: str) -> str:
    await create_topic(broker.bootstrap_servers, topic_name)
    return topic_name


@pytest.fixture
async def live(db: asyncpg.Pool, broker: Broker, topic: str) -> AsyncIterator[Consumers]:
    runner = Consumers(
        service="svc",
        pool=db,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
        projections=[CountingProjection(topic)],
    )
    await runner.start()
    yield runner
    await runner.stop()


def tally(events: list[CloudEvent]) -> dict[str, int]:
    result: dict[str, int] = {}
    for e in events:
        result[e.subject] = result.get(e.subject, 0) + 1
    return result


async def schema_of(pool: asyncpg.Pool) -> str:
    async with read_model(pool, "case_counts") as conn:
        schema: str = await conn.fetchval("SELECT current_schema()")
    return schema


async def test_rebuild_matches_live_and_old_generation_serves_meanwhile(
    db: asyncpg.Pool, broker: Broker, topic: str, live: Consumers
) -> None:
    cases = [uuid.uuid4() for _ in range(5)]
    events = [consent_requested(c) for _ in range(8) for c in cases]
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    await eventually(lambda: _counts_are(db, tally(events)), what="live applied")

    building = CountingProjection(topic)
    building.gate = asyncio.Event()
    seen: list[RebuildProgress] = []
    task = asyncio.create_task(
        rebuild(
            service="svc",
            projection=building,
            pool=db,
            bootstrap=broker.bootstrap_servers,
            kind=broker.kind,  # type: ignore[arg-type]
            progress=seen.append,
        )
    )
    await eventually(lambda: _true(building.gate_reached.is_set()), what="rebuild under way")

    # Mid-rebuild: reads come from generation 1, and live events still land there.
    assert await schema_of(db) == "rm_case_counts_1"
    assert await counts(db) == tally(events)
    more = [consent_requested(c) for c in cases[:2] for _ in range(3)]
    await produce(broker.bootstrap_servers, broker.kind, topic, more)
    await eventually(lambda: _counts_are(db, tally(events + more)), what="live during rebuild")
    assert await schema_of(db) == "rm_case_counts_1"

    building.gate.set()
    report = await asyncio.wait_for(task, timeout=60)
    assert (report.old_generation, report.new_generation) == (1, 2)
    assert report.failed == ()
    assert seen and seen[-1].records == report.records

    # Right after the swap the new generation holds everything the old one had.
    assert await schema_of(db) == "rm_case_counts_2"
    assert await counts(db) == tally(events + more)
    gone = await db.fetchval("SELECT to_regnamespace('rm_case_counts_1') IS NULL")
    assert gone

    # The live consumer now applies to generation 2.
    last = [consent_requested(cases[4]) for _ in range(4)]
    await produce(broker.bootstrap_servers, broker.kind, topic, last)
    await eventually(lambda: _counts_are(db, tally(events + more + last)), what="live after swap")


async def test_rebuild_while_events_keep_coming_misses_nothing(
    db: asyncpg.Pool, broker: Broker, topic: str, live: Consumers
) -> None:
    cases = [uuid.uuid4() for _ in range(7)]
    produced: list[CloudEvent] = []

    async def keep_producing() -> None:
        for round_ in range(30):
            chunk = [consent_requested(cases[(round_ + i) % 7]) for i in range(10)]
            await produce(broker.bootstrap_servers, broker.kind, topic, chunk)
            produced.extend(chunk)

    first = [consent_requested(c) for c in cases for _ in range(20)]
    await produce(broker.bootstrap_servers, broker.kind, topic, first)
    produced.extend(first)
    producing = asyncio.create_task(keep_producing())
    generations = []
    for _ in range(2):
        report = await rebuild(
            service="svc",
            projection=CountingProjection(topic),
            pool=db,
            bootstrap=broker.bootstrap_servers,
            kind=broker.kind,  # type: ignore[arg-type]
        )
        generations.append(report.new_generation)
    await producing
    assert generations == [2, 3]
    await eventually(lambda: _counts_are(db, tally(produced)), what="everything applied once")


async def test_a_second_concurrent_rebuild_is_refused(
    db: asyncpg.Pool, broker: Broker, topic: str, live: Consumers
) -> None:
    await produce(broker.bootstrap_servers, broker.kind, topic, [consent_requested(uuid.uuid4())])
    slow = CountingProjection(topic)
    slow.gate = asyncio.Event()
    first = asyncio.create_task(
        rebuild(
            service="svc",
            projection=slow,
            pool=db,
            bootstrap=broker.bootstrap_servers,
            kind=broker.kind,  # type: ignore[arg-type]
        )
    )
    await eventually(lambda: _true(slow.gate_reached.is_set()), what="first rebuild under way")
    with pytest.raises(RebuildConflict, match="being rebuilt already"):
        await rebuild(
            service="svc",
            projection=CountingProjection(topic),
            pool=db,
            bootstrap=broker.bootstrap_servers,
            kind=broker.kind,  # type: ignore[arg-type]
        )
    slow.gate.set()
    assert (await asyncio.wait_for(first, timeout=60)).new_generation == 2


async def test_an_interrupted_rebuild_resumes_where_it_stopped(
    db: asyncpg.Pool, broker: Broker, topic: str, live: Consumers
) -> None:
    cases = [uuid.uuid4() for _ in range(3)]
    events = [consent_requested(c) for c in cases for _ in range(20)]
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    await eventually(lambda: _counts_are(db, tally(events)), what="live applied")

    interrupted = CountingProjection(topic)
    interrupted.gate = asyncio.Event()
    interrupted.gate_after = 25
    task = asyncio.create_task(
        rebuild(
            service="svc",
            projection=interrupted,
            pool=db,
            bootstrap=broker.bootstrap_servers,
            kind=broker.kind,  # type: ignore[arg-type]
            max_records=10,
        )
    )
    await eventually(lambda: _true(interrupted.gate_reached.is_set()), what="part rebuilt")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await schema_of(db) == "rm_case_counts_1"
    progress = await db.fetchval("SELECT sum(next_offset) FROM rm_case_counts_2.consumed")
    assert 20 <= progress < len(events)

    resumed = CountingProjection(topic)
    report = await rebuild(
        service="svc",
        projection=resumed,
        pool=db,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
    )
    assert report.resumed
    assert report.records == len(events) - progress
    assert await schema_of(db) == "rm_case_counts_2"
    assert await counts(db) == tally(events)


async def test_a_swap_that_cannot_catch_up_gives_way_to_the_live_consumer(
    db: asyncpg.Pool, broker: Broker, topic: str, live: Consumers
) -> None:
    events = [consent_requested(uuid.uuid4()) for _ in range(5)]
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    await eventually(lambda: _counts_are(db, tally(events)), what="live applied")
    # As if the topic had been recreated: the old generation claims offsets that no longer exist.
    await db.execute("UPDATE rm_case_counts_1.consumed SET next_offset = next_offset + 1000")

    with pytest.raises(RebuildConflict, match="did not catch up"):
        await rebuild(
            service="svc",
            projection=CountingProjection(topic),
            pool=db,
            bootstrap=broker.bootstrap_servers,
            kind=broker.kind,  # type: ignore[arg-type]
            swap_timeout=2,
        )
    assert await schema_of(db) == "rm_case_counts_1"
    more = [consent_requested(uuid.uuid4()) for _ in range(3)]
    await produce(broker.bootstrap_servers, broker.kind, topic, more)
    await eventually(lambda: _counts_are(db, tally(events + more)), what="live goes on")


async def _counts_are(pool: asyncpg.Pool, want: dict[str, int]) -> bool:
    return await counts(pool) == want


async def _true(value: bool) -> bool:
    return value
