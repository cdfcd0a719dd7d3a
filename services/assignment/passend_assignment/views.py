"""Queries on the case board: inbox, work-unit queue, caseloads, open deadlines, lead times."""

from __future__ import annotations

import asyncpg

# Cases that are still somebody's concern: routed and not closed by trajectory.
_OPEN = "routed_at IS NOT NULL AND closed_at IS NULL"
_COLUMNS = (
    "case_id, school_id, ib_id, receiving_worker_id, work_unit_id, need_areas, submitted_at, "
    "routed_at, contact_due_on, contact_due_at, specialist_required, offered_to, offered_at, "
    "claimed_by, claimed_at, first_contact_at, reminded_at, missed_at, route_coach_calls"
)


async def inbox(conn: asyncpg.Connection, swv: str, worker_id: str) -> list[asyncpg.Record]:
    """W25: unclaimed cases the worker received, offered on or not; they stay responsible."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cases WHERE swv = $1 AND receiving_worker_id = $2 "
        f"AND claimed_by IS NULL AND {_OPEN} ORDER BY routed_at, case_id",
        swv,
        worker_id,
    )
    return rows


async def worker_cases(conn: asyncpg.Connection, swv: str, worker_id: str) -> list[asyncpg.Record]:
    """W25: open cases the worker claimed or is the education specialist of."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cases WHERE swv = $1 "
        f"AND (claimed_by = $2 OR specialist_id = $2) AND {_OPEN} "
        "ORDER BY claimed_at NULLS LAST, routed_at, case_id",
        swv,
        worker_id,
    )
    return rows


async def queue(conn: asyncpg.Connection, swv: str, work_unit_id: str) -> list[asyncpg.Record]:
    """W24: cases offered to the work unit that nobody claimed yet."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cases WHERE swv = $1 AND offered_to = $2 "
        f"AND claimed_by IS NULL AND {_OPEN} ORDER BY offered_at, case_id",
        swv,
        work_unit_id,
    )
    return rows


async def open_case_counts(conn: asyncpg.Connection, swv: str) -> dict[str, int]:
    """Claimed, not yet closed cases per worker (the caseload, W24)."""
    rows = await conn.fetch(
        f"SELECT claimed_by, count(*) AS open FROM cases WHERE swv = $1 "
        f"AND claimed_by IS NOT NULL AND {_OPEN} GROUP BY claimed_by",
        swv,
    )
    return {r["claimed_by"]: r["open"] for r in rows}


async def open_deadlines(
    conn: asyncpg.Connection, swv: str, worker_id: str | None
) -> list[asyncpg.Record]:
    """W26: cases whose IB was not contacted yet, the soonest due first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cases WHERE swv = $1 AND first_contact_at IS NULL "
        f"AND contact_due_at IS NOT NULL AND {_OPEN} "
        "AND ($2::text IS NULL OR coalesce(claimed_by, receiving_worker_id) = $2) "
        "ORDER BY contact_due_at, case_id",
        swv,
        worker_id,
    )
    return rows


async def lead_times(conn: asyncpg.Connection, swv: str) -> asyncpg.Record:
    """W26: how long from submission to claim and to first contact, in hours."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT
            count(*) FILTER (WHERE routed_at IS NOT NULL) AS submitted,
            count(claimed_at) FILTER (WHERE submitted_at IS NOT NULL) AS claimed,
            count(first_contact_at) FILTER (WHERE submitted_at IS NOT NULL) AS contacted,
            count(missed_at) AS deadlines_missed,
            avg(extract(epoch FROM claimed_at - submitted_at)) / 3600 AS claim_avg_hours,
            percentile_cont(0.5) WITHIN GROUP (
                ORDER BY extract(epoch FROM claimed_at - submitted_at)) / 3600
                AS claim_median_hours,
            avg(extract(epoch FROM first_contact_at - submitted_at)) / 3600
                AS contact_avg_hours,
            percentile_cont(0.5) WITHIN GROUP (
                ORDER BY extract(epoch FROM first_contact_at - submitted_at)) / 3600
                AS contact_median_hours
        FROM cases WHERE swv = $1
        """,
        swv,
    )
    assert row is not None
    return row
