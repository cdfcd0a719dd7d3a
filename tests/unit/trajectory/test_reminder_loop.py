"""The evaluation reminders' loop outlives a database that is away for a moment (W21, S)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from passend_trajectory import scheduler


async def test_a_pass_that_cannot_reach_the_database_is_left_to_the_next_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by the nemesis suite: a trajectory instance cut off from PostgreSQL ended its
    # reminders task with "No route to host", and the lifecycle stopped the service.
    stop = asyncio.Event()
    passes: list[str] = []

    async def remind_once(ctx: Any) -> int:
        if not passes:
            passes.append("failed")
            raise OSError(113, "No route to host")
        passes.append("reminded")
        stop.set()
        return 0

    monkeypatch.setattr(scheduler, "remind_once", remind_once)
    run = scheduler.evaluation_reminders(poll_seconds=0.01)
    await asyncio.wait_for(run(object(), stop), timeout=5)  # type: ignore[arg-type]
    assert passes == ["failed", "reminded"]


async def test_a_bug_still_ends_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    async def remind_once(ctx: Any) -> int:
        raise KeyError("a bug, not a passing failure")

    monkeypatch.setattr(scheduler, "remind_once", remind_once)
    run = scheduler.evaluation_reminders(poll_seconds=0.01)
    with pytest.raises(KeyError):
        await asyncio.wait_for(run(object(), asyncio.Event()), timeout=5)  # type: ignore[arg-type]
