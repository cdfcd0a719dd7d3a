"""Readiness answers within its timeout even while a probe's database is frozen."""

from __future__ import annotations

import asyncio
from typing import Any

from passend_backbone.health import Readiness


async def test_a_probe_stuck_on_a_frozen_database_is_reported_within_the_timeout() -> None:
    # Found by the nemesis suite: with PostgreSQL paused (SIGSTOP), /health/ready never
    # answered. Cancelling the probe's query waits for the server too (asyncpg sends a
    # cancel request and waits for the connection), so a timeout that cancels and then
    # awaits the probe waited as long as the server was frozen.
    frozen = asyncio.Event()
    started = 0

    probes: list[asyncio.Task[Any]] = []

    async def database() -> str | None:
        nonlocal started
        started += 1
        current = asyncio.current_task()
        assert current is not None
        probes.append(current)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await frozen.wait()  # the clean-up that needs the server
            raise
        return None

    async def broker() -> str | None:
        return None

    readiness = Readiness({"database": database, "broker": broker}, timeout=0.05, ttl=0)
    report = await asyncio.wait_for(readiness.check(), timeout=2)
    assert not report.ready
    assert report.checks == {"database": "no answer within 0.05s", "broker": "ok"}

    again = await asyncio.wait_for(readiness.check(), timeout=2)
    assert again.checks["database"] == "no answer within 0.05s"
    assert started == 1, "a probe still waiting is waited on again, not started twice"

    frozen.set()  # the server goes on: the probe left running ends
    probes[0].cancel()
    await asyncio.gather(*probes, return_exceptions=True)


async def test_a_probe_that_answers_late_is_heard_in_a_later_round() -> None:
    answer = asyncio.Event()

    async def database() -> str | None:
        await answer.wait()
        return None

    readiness = Readiness({"database": database}, timeout=0.05, ttl=0)
    assert not (await readiness.check()).ready
    answer.set()
    assert (await readiness.check()).ready
