"""Evaluation reminders (W21, S): a background task appending ``EvaluationReminded`` when due.

Each pass reads the cases with an evaluation due within the reminder window from the read
model and decides on the case's own stream, so a reminder is given once even when passes
overlap or the process restarts: the stream knows which reminders were given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from uuid import UUID, uuid5

import structlog

from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.eventstore import ConcurrencyError, Metadata
from passend_backbone.service import ServiceContext
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.due import REMIND_WINDOW, reminders
from passend_trajectory.handlers import react
from passend_trajectory.views import PROJECTION

ACTOR = "service:trajectory"
_NAMESPACE = UUID("0b6e9f3c-5a51-4c8e-9d1a-3f2e7c4b8a60")
_log = structlog.get_logger("passend.trajectory.reminders")


def _reminder_id(case_id: UUID, now: datetime, n: int) -> UUID:
    return uuid5(_NAMESPACE, f"{case_id}:{now.isoformat()}:{n}")


async def remind_once(ctx: ServiceContext) -> int:
    """One pass: remind about every evaluation due soon or overdue; returns how many cases."""
    now = ctx.clock()
    async with read_model(ctx.pool, PROJECTION) as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT case_id, swv FROM evaluations_due WHERE due_on <= $1",
            now.date() + REMIND_WINDOW,
        )
    act = Act(actor=ACTOR, at=now)
    reminded = 0
    for row in rows:
        case_id: UUID = row["case_id"]
        meta = Metadata(
            swv=row["swv"],
            actor=ACTOR,
            correlation_id=f"reminders:{now.date()}",
            causation_id=f"reminders:{now.isoformat()}",
        )
        try:
            async with ctx.pool.acquire() as conn, conn.transaction():
                appended = await react(
                    ctx.store,
                    conn,
                    case_id,
                    lambda s: reminders(s, act),
                    meta,
                    partial(_reminder_id, case_id, now),
                    act,
                )
        except ConcurrencyError:
            continue  # busy case: the next pass reminds
        reminded += bool(appended)
    return reminded


def evaluation_reminders(
    poll_seconds: float = 60.0,
) -> Callable[[ServiceContext, asyncio.Event], Awaitable[None]]:
    """The background task: a pass every ``poll_seconds`` until ``stop`` is set."""

    async def run(ctx: ServiceContext, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                count = await remind_once(ctx)
                if count:
                    _log.info("evaluations_reminded", cases=count)
            except ProjectionNotSetUp:
                pass  # the read model is being set up at start: next pass
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
            except TimeoutError:
                continue

    return run
