"""The case board: one row per case behind the inbox, queue, caseload, deadline and lead-time views.

Each event sets only its own columns with an upsert, so the row ends the same whatever
order events of different topics arrive in (a trajectory's closing may come first).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone import tenancy
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    CaseWithdrawn,
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    FirstContactRecorded,
    RequestRouted,
    RouteCoachCalledIn,
    SpecialistRequired,
)
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import TrajectoryClosed

CASE_BOARD = "case_board"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_id             uuid PRIMARY KEY,
    swv                 text NOT NULL,
    school_id           text,
    ib_id               text,
    receiving_worker_id text,
    work_unit_id        text,
    need_areas          text[] NOT NULL DEFAULT '{}',
    submitted_at        timestamptz,
    routed_at           timestamptz,
    contact_due_on      date,
    contact_due_at      timestamptz,
    specialist_required boolean NOT NULL DEFAULT false,
    specialist_id       text,
    offered_to          text,
    offered_at          timestamptz,
    claimed_by          text,
    claimed_at          timestamptz,
    first_contact_at    timestamptz,
    reminded_at         timestamptz,
    missed_at           timestamptz,
    route_coach_calls   integer NOT NULL DEFAULT 0,
    closed_at           timestamptz
);
CREATE INDEX IF NOT EXISTS cases_inbox ON cases (swv, receiving_worker_id) WHERE claimed_by IS NULL;
CREATE INDEX IF NOT EXISTS cases_queue ON cases (swv, offered_to) WHERE claimed_by IS NULL;
CREATE INDEX IF NOT EXISTS cases_caseload ON cases (swv, claimed_by) WHERE closed_at IS NULL;
"""


async def _upsert(conn: asyncpg.Connection, event: CloudEvent, **columns: Any) -> None:
    names = list(columns)
    placeholders = ", ".join(f"${i + 3}" for i in range(len(names)))
    updates = ", ".join(f"{n} = excluded.{n}" for n in names)
    await conn.execute(
        f"INSERT INTO cases (case_id, swv, {', '.join(names)}) VALUES ($1, $2, {placeholders}) "
        f"ON CONFLICT (case_id) DO UPDATE SET {updates}",
        UUID(event.subject),
        event.swv,
        *columns.values(),
    )


class CaseBoard:
    """Projection ``case_board`` over assignment's own events and trajectory's closings."""

    name: str = CASE_BOARD
    topics: tuple[str, ...] = (topics.ASSIGNMENT, topics.TRAJECTORY)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_SCHEMA)
        await tenancy.protect(conn, "cases")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        match payload:
            case RequestRouted():
                await _upsert(
                    conn,
                    event,
                    school_id=payload.school_id,
                    ib_id=payload.ib_id,
                    receiving_worker_id=payload.receiving_worker_id,
                    work_unit_id=payload.work_unit_id,
                    need_areas=payload.need_areas,
                    submitted_at=payload.submitted_at,
                    routed_at=payload.routed_at,
                    contact_due_on=payload.contact_due_on,
                    contact_due_at=payload.contact_due_at,
                )
            case SpecialistRequired():
                await _upsert(
                    conn, event, specialist_required=True, specialist_id=payload.specialist_id
                )
            case CaseOfferedToWorkUnit():
                await _upsert(
                    conn, event, offered_to=payload.work_unit_id, offered_at=payload.offered_at
                )
            case CaseClaimed():
                await _upsert(
                    conn, event, claimed_by=payload.worker_id, claimed_at=payload.claimed_at
                )
            case FirstContactRecorded():
                await _upsert(conn, event, first_contact_at=payload.contacted_at)
            case ContactDeadlineApproaching():
                await _upsert(conn, event, reminded_at=payload.raised_at)
            case ContactDeadlineMissed():
                await _upsert(conn, event, missed_at=payload.missed_at)
            case RouteCoachCalledIn():
                # Each event is applied once (the runner marks it handled in this transaction).
                await conn.execute(
                    "INSERT INTO cases (case_id, swv, route_coach_calls) VALUES ($1, $2, 1) "
                    "ON CONFLICT (case_id) DO UPDATE "
                    "SET route_coach_calls = cases.route_coach_calls + 1",
                    UUID(event.subject),
                    event.swv,
                )
            case TrajectoryClosed():
                # A closed trajectory leaves the worker's caseload.
                await _upsert(conn, event, closed_at=payload.closed_at)
            case CaseWithdrawn():
                # A withdrawn request is nobody's work any more: it leaves the inbox, the
                # queue, the caseload and the open deadlines, like a closed case.
                await _upsert(conn, event, closed_at=payload.withdrawn_at)
            case _:
                return
