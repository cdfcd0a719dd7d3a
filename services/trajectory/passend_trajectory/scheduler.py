"""Evaluation reminders (W21, S): a background task appending ``EvaluationReminded`` when due.

Each pass reads the evaluations due soon or overdue from the read model, with the working
calendar of each case's school (``calendars``), and decides on the case's own stream, so
a reminder is given once even when passes overlap or the process restarts: the stream
knows which reminders were given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from uuid import UUID, uuid5

import structlog

from passend_backbone.commands import Refusal, decide_and_append
from passend_backbone.consumer.failures import is_transient
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.eventstore import Metadata
from passend_backbone.service import ServiceContext
from passend_backbone.working_days import WorkingCalendar, local_day
from passend_trajectory.calendars import calendars_of, school_calendar
from passend_trajectory.domain.commands import Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.due import REMIND_WINDOW, RemindEvaluations, remind_from
from passend_trajectory.views import PROJECTION

ACTOR = "service:trajectory"
_NAMESPACE = UUID("0b6e9f3c-5a51-4c8e-9d1a-3f2e7c4b8a60")
_log = structlog.get_logger("passend.trajectory.reminders")


def _reminder_id(case_id: UUID, now: datetime, n: int) -> UUID:
    return uuid5(_NAMESPACE, f"{case_id}:{now.isoformat()}:{n}")


async def _cases_to_remind(
    ctx: ServiceContext, now: datetime
) -> list[tuple[UUID, str, WorkingCalendar]]:
    """W21, S: the cases with an evaluation whose reminder day (in their school's working
    days) has come, each with that calendar."""
    today = local_day(now)
    async with read_model(ctx.pool, PROJECTION) as conn:
        rows = await conn.fetch(
            "SELECT d.case_id, d.swv, d.due_on, t.school_id FROM evaluations_due d "
            "LEFT JOIN trajectories t ON t.case_id = d.case_id "
            "WHERE d.due_on <= $1 ORDER BY d.swv, d.case_id",
            today + REMIND_WINDOW,
        )
    found: dict[UUID, tuple[UUID, str, WorkingCalendar]] = {}
    for swv in sorted({r["swv"] for r in rows}):
        of_swv = [r for r in rows if r["swv"] == swv]
        known = await calendars_of(ctx.pool, swv, [r["school_id"] for r in of_swv], tenant=False)
        for row in of_swv:
            calendar = school_calendar(known, row["school_id"])
            if remind_from(row["due_on"], calendar) <= today:
                found.setdefault(row["case_id"], (row["case_id"], swv, calendar))
    return list(found.values())


async def remind_once(ctx: ServiceContext) -> int:
    """One pass: remind about every evaluation due soon or overdue; returns how many cases."""
    now = ctx.clock()
    reminded = 0
    for case_id, swv, calendar in await _cases_to_remind(ctx, now):
        meta = Metadata(
            swv=swv,
            actor=ACTOR,
            correlation_id=f"reminders:{local_day(now)}",
            causation_id=f"reminders:{now.isoformat()}",
        )
        try:
            async with ctx.commands.transactions.tenant(swv) as tx:
                outcome = await decide_and_append(
                    ctx.store,
                    tx,
                    DECIDER,
                    str(case_id),
                    Issued(ACTOR, RemindEvaluations(calendar)),
                    meta=meta,
                    now=now,
                    event_ids=partial(_reminder_id, case_id, now),
                )
        except Refusal:
            continue  # a case too busy to decide on now: the next pass reminds
        reminded += bool(outcome.recorded)
    return reminded


def evaluation_reminders(
    poll_seconds: float = 60.0,
) -> Callable[[ServiceContext, asyncio.Event], Awaitable[None]]:
    """The background task: a pass every ``poll_seconds`` until ``stop`` is set.

    A pass that meets a passing failure (the database away or unreachable for a moment)
    is left to the next pass: the reminders due stay due. Ending the task instead would
    stop the whole service (the lifecycle treats a background task that fails as fatal).
    """

    async def run(ctx: ServiceContext, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                count = await remind_once(ctx)
                if count:
                    _log.info("evaluations_reminded", cases=count)
            except ProjectionNotSetUp:
                pass  # a read model is being set up at start: next pass
            except Exception as exc:
                if not is_transient(exc):
                    raise
                _log.warning("evaluation_reminders_failed", error=repr(exc))
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
            except TimeoutError:
                continue

    return run
