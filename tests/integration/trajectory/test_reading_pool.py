"""Reading a trajectory holds one pool connection at a time, so many readers never wait for ever.

A read of ``/cases/{id}/trajectory`` that held its read-model connection while it asked the
pool for a second one (the ``case_reach`` facts) stopped the whole service once as many
reads were in flight as the pool has connections: each held one and waited for another
(found by ``tests/integration/test_withdrawal_races.py``, whose services stood still with
every connection "idle in transaction").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast
from uuid import uuid4

import asyncpg
import pytest

from passend_trajectory import views
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import WORKER_H, trajectory
from tests.integration.trajectory.kit import SWV, claimed, deliver, headers

pytestmark = pytest.mark.integration

OUTSIDER = headers("ib", "ib-elders", school_id="brin-99zz")  # another school's IB


class OneAtATime:
    """A pool that refuses to lend a second connection to a task holding one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.holders: set[asyncio.Task[Any] | None] = set()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        task = asyncio.current_task()
        assert task not in self.holders, "asked the pool for a second connection while holding one"
        self.holders.add(task)
        try:
            async with self.pool.acquire() as conn:
                yield conn
        finally:
            self.holders.discard(task)


async def test_a_reading_holds_one_connection_at_a_time(service: Service) -> None:
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await trajectory(service.http, case_id)  # projected, and in the case_reach table
    pool = cast(asyncpg.Pool, OneAtATime(service.pool))
    for case in (case_id, uuid4()):
        async with views.reading(pool, SWV, case) as read:
            assert read.exists == (case == case_id)
            if read.exists:
                assert (await read.state()).opened is not None


async def test_many_reads_at_once_all_answer(service: Service) -> None:
    """Four times as many reads in flight as the service's pool has connections (10)."""
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await trajectory(service.http, case_id)

    async def read(n: int) -> int:
        caller = WORKER_H if n % 2 else OUTSIDER
        answer = await service.http.get(f"/cases/{case_id}/trajectory", headers=caller)
        return answer.status_code

    answers = await asyncio.wait_for(asyncio.gather(*(read(n) for n in range(40))), 60)
    assert sorted(set(answers)) == [200, 404], answers
