"""Who is responsible for which open case (W25), kept in step with the cases' events.

The rows are written in the transaction that appends a case's events (routing, claims,
hand-overs, withdrawals), so a directory change that reads them in its own transaction
knows every open case of a worker who would leave, none lagging behind a consumer. Only
trajectory's closing arrives from outside, through :class:`ClosureReactor`; until it has,
a closed case still counts as open (a removal waits for it, never the other way round).

A claim and a directory change that removes its claimer serialise on a lock per worker:
the claim holds it shared while it reads the directory, the change exclusively while it
reads the open cases. Whichever comes second sees what the first committed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from passend_assignment.domain.case import CaseState
from passend_backbone.eventstore import EventStore
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import TrajectoryClosed


def _lock_key(swv: str, worker_id: str) -> str:
    return f"passend.assignment.worker:{swv}:{worker_id}"


async def hold_worker(conn: asyncpg.Connection, swv: str, worker_id: str) -> None:
    """Until the transaction ends, no directory change removes ``worker_id`` (shared lock)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtext($1))", _lock_key(swv, worker_id)
    )


async def reserve_workers(conn: asyncpg.Connection, swv: str, worker_ids: Collection[str]) -> None:
    """Until the transaction ends, nobody else claims for ``worker_ids`` (exclusive locks,
    taken in one order so two changes never wait on each other in a circle)."""
    for worker_id in sorted(worker_ids):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _lock_key(swv, worker_id))


async def sync_responsibility(conn: asyncpg.Connection, case: CaseState) -> None:
    """W25: the case's responsible worker as its events now say (in their transaction)."""
    await conn.execute(
        "INSERT INTO public.responsibilities (case_id, swv, worker_id, withdrawn_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO UPDATE "
        "SET worker_id = excluded.worker_id, withdrawn_at = excluded.withdrawn_at",
        case.case_id,
        case.swv_id,
        case.responsible_worker_id,
        case.withdrawn_at,
    )


async def note_closed(conn: asyncpg.Connection, swv: str, case_id: UUID, at: datetime) -> None:
    """Trajectory closed the case: nobody's open case any more (the first closing counts)."""
    await conn.execute(
        "INSERT INTO public.responsibilities (case_id, swv, closed_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (case_id) DO UPDATE "
        "SET closed_at = coalesce(responsibilities.closed_at, excluded.closed_at)",
        case_id,
        swv,
        at,
    )


async def open_cases(
    conn: asyncpg.Connection, swv: str, workers: Collection[str], cases: Collection[UUID]
) -> dict[UUID, str]:
    """The open cases of ``workers`` and those of ``cases`` still open, with the worker
    responsible for each."""
    if not workers and not cases:
        return {}
    rows = await conn.fetch(
        "SELECT case_id, worker_id FROM public.responsibilities "
        "WHERE swv = $1 AND worker_id IS NOT NULL AND withdrawn_at IS NULL "
        "AND closed_at IS NULL AND (worker_id = ANY($2::text[]) OR case_id = ANY($3::uuid[]))",
        swv,
        sorted(workers),
        list(cases),
    )
    return {row["case_id"]: row["worker_id"] for row in rows}


class ClosureReactor:
    """``TrajectoryClosed`` -> the case leaves its worker's open cases (issue 24).

    Appends no events: it keeps :mod:`responsibility` rows, idempotently (a closing
    handled twice sets nothing new), in the consumer's transaction.
    """

    name: str = "closures"
    topics: tuple[str, ...] = (topics.TRAJECTORY,)

    async def react(
        self, conn: Any, event: CloudEvent, payload: EventPayload, store: EventStore
    ) -> None:
        if isinstance(payload, TrajectoryClosed):
            await note_closed(conn, event.swv, payload.case_id, payload.closed_at)
