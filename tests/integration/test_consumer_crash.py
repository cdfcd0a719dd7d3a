"""Killing the runner with SIGKILL at random points loses and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from passend_backbone.consumer.rebuild import rebuild
from passend_backbone.consumer.schema import ProjectionNotSetUp
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

ROOT = Path(__file__).resolve().parents[2]


async def start_worker(db_url: str, broker: Broker, topic: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.consumer_crash_worker",
        db_url,
        broker.bootstrap_servers,
        broker.kind,
        topic,
        "svc",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def applied(pool: asyncpg.Pool) -> int:
    try:
        return sum((await counts(pool)).values())
    except ProjectionNotSetUp:
        return 0


def tally(events: list[CloudEvent]) -> dict[str, int]:
    result: dict[str, int] = {}
    for e in {e.id: e for e in events}.values():
        result[e.subject] = result.get(e.subject, 0) + 1
    return result


async def test_sigkill_at_random_points_then_restart_gives_the_rebuilt_read_model(
    db_url: str, pool: asyncpg.Pool, broker: Broker, topic_name: str
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"crash test seed {seed}")
    await migrate(pool, ["passend_backbone.migrations"])
    await create_topic(broker.bootstrap_servers, topic_name)
    cases = [uuid.uuid4() for _ in range(25)]
    produced: list[CloudEvent] = []

    async def publish(n: int) -> None:
        chunk = [consent_requested(rng.choice(cases)) for _ in range(n)]
        # Republish some: the outbox relay is at-least-once too.
        chunk += rng.sample(chunk, n // 20)
        await produce(broker.bootstrap_servers, broker.kind, topic_name, chunk)
        produced.extend(chunk)

    for _ in range(6):
        await publish(1500)
        before = await applied(pool)
        unique = len({e.id for e in produced})
        kill_at = rng.randint(before + 1, unique)
        worker = await start_worker(db_url, broker, topic_name)
        try:

            async def reached(kill_at: int = kill_at) -> bool:
                return await applied(pool) >= kill_at

            await eventually(reached, timeout=60, interval=0.005, what=f"{kill_at} applied")
        finally:
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
        assert worker.returncode == -signal.SIGKILL

    want = tally(produced)
    worker = await start_worker(db_url, broker, topic_name)
    try:
        # Its SIGTERM handler is installed once it says so.
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), timeout=60) == b"started\n"

        async def complete() -> bool:
            return await counts(pool) == want

        await eventually(complete, timeout=60, what="every event applied once after restarts")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), timeout=30) == 0

    live = await counts(pool)
    async with pool.acquire() as conn:
        handled = await conn.fetchval("SELECT count(*) FROM rm_case_counts_1.handled")
    assert handled == len({e.id for e in produced})

    report = await rebuild(
        service="svc",
        projection=CountingProjection(topic_name),
        pool=pool,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
    )
    assert report.records == len(produced)
    assert await counts(pool) == live == want
