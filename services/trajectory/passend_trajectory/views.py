"""Answers from the read models: trajectory, evaluations due, Team NO agenda, stagnations,
invitations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.auth import CaseFacts
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.working_days import WorkingCalendar
from passend_trajectory import reach
from passend_trajectory.calendars import calendars_of, school_calendar
from passend_trajectory.domain import lead_times
from passend_trajectory.domain.due import due_status, evaluations_due
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.projections import TrajectoryProjection

PROJECTION = TrajectoryProjection.name

# What the trajectory itself adds to who sees the case: its school, its claiming worker
# and the Team NO region of its latest escalation. Columns of their own, not read from
# the state, whose size varies with the case (it is fetched only for who sees the case).
_SCOPE = """
SELECT school_id, worker_id, escalated_region AS region
FROM trajectories WHERE case_id = $1 AND swv = $2
"""


@dataclass(frozen=True)
class Reading:
    """One read of a case's trajectory: who may see it, then (only for them) its state."""

    conn: asyncpg.Connection
    case_id: UUID
    swv: str
    exists: bool  # the read model has a trajectory stream for the case
    facts: CaseFacts  # the case_reach facts completed with the trajectory's own

    async def state(self) -> TrajectoryState:
        """The projected state (read in the same snapshot as :attr:`facts`)."""
        raw = await self.conn.fetchval(
            "SELECT state::text FROM trajectories WHERE case_id = $1 AND swv = $2",
            self.case_id,
            self.swv,
        )
        return TrajectoryState.model_validate_json(raw) if raw else TrajectoryState()


@asynccontextmanager
async def reading(pool: asyncpg.Pool, swv: str, case_id: UUID) -> AsyncIterator[Reading]:
    """Both read models, always, before anything is decided: the trajectory's own scope and
    the ``case_reach`` facts.

    An unknown case and another school's case cost the same two reads, so a caller who
    may not see a case can't tell from the time of the 404 whether it exists (issue 24;
    ``tests/integration/trajectory/test_timing.py``). The state itself, whose size varies,
    is parsed only for a caller who sees the case (:meth:`Reading.state`).

    The ``case_reach`` facts are read first, on a connection given back before the
    trajectory's is taken: a request holding one pool connection while it waits for a
    second would, with as many such requests as the pool has connections, wait for ever
    (``tests/integration/trajectory/test_reading_pool.py``).
    """
    known = await reach.case_facts(pool, swv, case_id)
    async with tenant_read_model(pool, PROJECTION, swv) as conn:
        row = await conn.fetchrow(_SCOPE, case_id, swv)
        if row is not None:
            known = reach.with_trajectory(known, row["school_id"], row["worker_id"], row["region"])
        yield Reading(conn, case_id, swv, row is not None, known)


def trajectory_view(
    state: TrajectoryState, today: date, calendar: WorkingCalendar, *, findings: bool = False
) -> dict[str, Any]:
    """The trajectory with its plans (every revision), evaluations and what is due (counted
    with ``calendar``, the working days of the case's school).

    W23: the sessions' ``findings`` are null unless ``findings`` is set (for the roles that
    may read the worker's own record: :data:`passend_trajectory.api.FINDINGS_READERS`).
    """
    dump = state.model_dump(mode="json", exclude={"director_basis", "reminders"})
    sessions = dump["sessions"] if findings else [without_findings(s) for s in dump["sessions"]]
    director = state.director
    return {
        "case_id": dump["case_id"],
        "status": state.status,
        "version": state.version,
        "opened": dump["opened"],
        "consent": dump["consent"],
        "complex": state.complex,
        "complexity": dump["complexity"],
        "start_conversation": dump["start_conversation"],
        "specialist_analysis": dump["specialist_analysis"],
        "current_plan_revision": state.current_plan.revision if state.current_plan else None,
        "plans": dump["plans"],
        "support": dump["support"],
        "paused": dump["paused"],
        "sessions": sessions,
        "session_hours": sum(s.hours for s in state.sessions),
        "signals": dump["signals"],
        "evaluations": dump["evaluations"],
        "care_level": state.care_level,
        "care_level_changes": dump["care_levels"],
        "opp": dump["opp"],
        "opp_evaluations": dump["opp_evaluations"],
        "youth_care": dump["youth_care"],
        "case_director": dump["directors"][-1] if director else None,
        "case_director_history": dump["directors"],
        "escalations": dump["escalations"],
        "closed": dump["closed"],
        "withdrawn": dump["withdrawn"],
        "group": state.group,
        "measures": dump["measures"],
        "reflections": dump["reflections"],
        "invitations": dump["invitations"],
        "evaluations_due": [
            {
                "kind": d.kind.value,
                "due_on": d.due_on.isoformat(),
                "status": due_status(d.due_on, today, calendar),
            }
            for d in evaluations_due(state, today)
        ],
    }


def without_findings(session: dict[str, Any]) -> dict[str, Any]:
    """W23: a session as the school sees it: held, when and how long; its findings null."""
    return {**session, "findings": None}


async def evaluations_due_for(
    pool: asyncpg.Pool, swv: str, worker_id: str, today: date
) -> list[dict[str, Any]]:
    """W21, S: the worker's open evaluations, soonest first, each with its case's school and
    its status today (as the working days of that school count)."""
    async with tenant_read_model(pool, PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT d.case_id, d.kind, d.due_on, t.school_id FROM evaluations_due d "
            "LEFT JOIN trajectories t ON t.case_id = d.case_id "
            "WHERE d.swv = $1 AND d.worker_id = $2 ORDER BY d.due_on, d.case_id, d.kind",
            swv,
            worker_id,
        )
    calendars = await calendars_of(pool, swv, [r["school_id"] for r in rows]) if rows else {}
    return [
        {
            "case_id": str(r["case_id"]),
            "school_id": r["school_id"],
            "kind": r["kind"],
            "due_on": r["due_on"].isoformat(),
            "status": due_status(r["due_on"], today, school_calendar(calendars, r["school_id"])),
        }
        for r in rows
    ]


async def team_no_agenda(pool: asyncpg.Pool, swv: str, region: str) -> list[dict[str, Any]]:
    """TNO: the cases awaiting a decision of the region's Team NO, oldest first."""
    async with tenant_read_model(pool, PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT case_id, municipality, reasons, draft_plan, escalation_id, escalated_by, "
            "escalated_at FROM team_no_agenda WHERE swv = $1 AND region = $2 "
            "ORDER BY escalated_at, case_id",
            swv,
            region,
        )
    return [
        {
            "case_id": str(r["case_id"]),
            "municipality": r["municipality"],
            "reasons": list(r["reasons"]),
            "draft_plan": r["draft_plan"],
            "escalation_id": str(r["escalation_id"]) if r["escalation_id"] else None,
            "escalated_by": r["escalated_by"],
            "escalated_at": r["escalated_at"].isoformat(),
        }
        for r in rows
    ]


async def stagnation_report(
    pool: asyncpg.Pool,
    swv: str,
    region: str,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """TNO: the region's stagnations by reason and municipality, to learn from structurally;
    ``since``/``until``: escalated on or after / on or before that day (Dutch time)."""
    # One filter for both queries: the region, and the period when one is asked.
    where = (
        "swv = $1 AND region = $2 "
        "AND ($3::date IS NULL OR (escalated_at AT TIME ZONE 'Europe/Amsterdam')::date >= $3) "
        "AND ($4::date IS NULL OR (escalated_at AT TIME ZONE 'Europe/Amsterdam')::date <= $4)"
    )
    async with tenant_read_model(pool, PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT reason, municipality, count(*) AS n FROM stagnations "
            f"WHERE {where} GROUP BY reason, municipality ORDER BY reason, municipality",
            swv,
            region,
            since,
            until,
        )
        per_municipality = await conn.fetch(
            "SELECT municipality, count(DISTINCT (case_id, escalation_no)) AS n "
            f"FROM stagnations WHERE {where} GROUP BY municipality ORDER BY municipality",
            swv,
            region,
            since,
            until,
        )
    by_reason: dict[str, int] = {}
    for r in rows:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + r["n"]
    by_municipality = {r["municipality"]: r["n"] for r in per_municipality}
    return {
        "region": region,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "escalations": sum(by_municipality.values()),
        "by_reason": by_reason,
        "by_municipality": by_municipality,
        "by_reason_and_municipality": [
            {"reason": r["reason"], "municipality": r["municipality"], "count": r["n"]}
            for r in rows
        ],
    }


async def phase_lead_times(
    pool: asyncpg.Pool,
    swv: str,
    *,
    worker_id: str | None = None,
    school_ids: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """W6, W15, W16, W21, TNO: days per phase over the SWV's trajectories, narrowed to a
    worker, to schools (``None``: every school) and to the trajectories opened in a period
    (Dutch days, both included).
    Figures only: no case is named, so nothing is logged as a case read."""
    async with tenant_read_model(pool, PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT state::text AS state FROM trajectories WHERE swv = $1 "
            "AND ($2::text IS NULL OR worker_id = $2) "
            "AND ($3::text[] IS NULL OR school_id = ANY($3::text[]))",
            swv,
            worker_id,
            list(school_ids) if school_ids is not None else None,
        )
    per_case = []
    for row in rows:
        state = TrajectoryState.model_validate_json(row["state"])
        day = lead_times.opened_on(state)
        if day is None or (since and day < since) or (until and day > until):
            continue
        per_case.append(lead_times.phase_days(state))
    return {
        "trajectories": len(per_case),
        "phases": [
            {
                "phase": f.phase,
                "cases": f.cases,
                "avg_days": f.avg_days,
                "median_days": f.median_days,
            }
            for f in lead_times.summarise(per_case)
        ],
    }


async def invitations_for(pool: asyncpg.Pool, swv: str, adviser_id: str) -> list[dict[str, Any]]:
    """C: the invitations addressed to ``adviser_id``, soonest meeting first, each with the
    status of its trajectory (a withdrawn or closed one needs no meeting any more)."""
    async with tenant_read_model(pool, PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT i.case_id, i.invitation_id, i.goal, i.occasion, i.meeting_on, "
            "i.invited_by, i.invited_at, t.status FROM invitations i "
            "LEFT JOIN trajectories t ON t.case_id = i.case_id "
            "WHERE i.swv = $1 AND i.adviser_id = $2 "
            "ORDER BY i.meeting_on, i.invited_at, i.invitation_id",
            swv,
            adviser_id,
        )
    return [
        {
            "case_id": str(r["case_id"]),
            "invitation_id": str(r["invitation_id"]),
            "goal": r["goal"],
            "occasion": r["occasion"],
            "meeting_on": r["meeting_on"].isoformat(),
            "invited_by": r["invited_by"],
            "invited_at": r["invited_at"].isoformat(),
            "case_status": r["status"],
        }
        for r in rows
    ]
