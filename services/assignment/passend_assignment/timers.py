"""The contact-deadline timer rows: kept in step with a case's state, read by the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from passend_assignment.domain.case import CaseState
from passend_assignment.domain.contact import TimerKind, timers_of


@dataclass(frozen=True)
class DueTimer:
    case_id: UUID
    kind: TimerKind
    swv: str
    fire_at: datetime


async def sync_timers(conn: asyncpg.Connection, case: CaseState, now: datetime) -> None:
    """W26: rows for the timers the case has; timers it no longer has are cancelled.

    Runs in the transaction that appended the case's events, so a timer exists exactly
    when the events say it should. Existing rows are kept as they are (a fired timer
    stays fired).
    """
    wanted = timers_of(case)
    for kind, fire_at in wanted.items():
        await conn.execute(
            "INSERT INTO public.contact_timers (case_id, kind, swv, fire_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, kind) DO NOTHING",
            case.case_id,
            kind.value,
            case.swv_id,
            fire_at,
        )
    await conn.execute(
        "UPDATE public.contact_timers SET cancelled_at = $3 "
        "WHERE case_id = $1 AND NOT (kind = ANY($2::text[])) "
        "AND fired_at IS NULL AND cancelled_at IS NULL",
        case.case_id,
        [k.value for k in wanted],
        now,
    )


async def take_due(conn: asyncpg.Connection, now: datetime) -> DueTimer | None:
    """Lock one timer due at ``now`` for this transaction; other schedulers skip it."""
    row = await conn.fetchrow(
        "SELECT case_id, kind, swv, fire_at FROM public.contact_timers "
        "WHERE fired_at IS NULL AND cancelled_at IS NULL AND fire_at <= $1 "
        "ORDER BY fire_at, case_id, kind LIMIT 1 FOR UPDATE SKIP LOCKED",
        now,
    )
    if row is None:
        return None
    return DueTimer(row["case_id"], TimerKind(row["kind"]), row["swv"], row["fire_at"])


async def mark_fired(conn: asyncpg.Connection, timer: DueTimer, now: datetime) -> None:
    await conn.execute(
        "UPDATE public.contact_timers SET fired_at = $3 WHERE case_id = $1 AND kind = $2",
        timer.case_id,
        timer.kind.value,
        now,
    )
