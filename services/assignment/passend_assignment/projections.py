"""The case board: one row per case behind the inbox, queue, caseload, deadline and lead-time views.

Each event sets only its own columns with an upsert, so the row ends the same whatever
order events of different topics arrive in (a trajectory's closing may come first). A
batch is folded per case in memory first (later events of a case overwrite its earlier
ones' columns, as one upsert after another would) and written with one statement per
set of columns, so a batch costs a few round trips instead of one per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from passend_backbone import tenancy
from passend_backbone.consumer.deliveries import Delivery
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


# Each column an event sets, with its PostgreSQL type (the unnest array's element type).
_TYPES: dict[str, str] = {
    "school_id": "text",
    "ib_id": "text",
    "receiving_worker_id": "text",
    "work_unit_id": "text",
    "need_areas": "text[]",
    "submitted_at": "timestamptz",
    "routed_at": "timestamptz",
    "contact_due_on": "date",
    "contact_due_at": "timestamptz",
    "specialist_required": "boolean",
    "specialist_id": "text",
    "offered_to": "text",
    "offered_at": "timestamptz",
    "claimed_by": "text",
    "claimed_at": "timestamptz",
    "first_contact_at": "timestamptz",
    "reminded_at": "timestamptz",
    "missed_at": "timestamptz",
    "closed_at": "timestamptz",
}


def _changes(payload: EventPayload) -> tuple[dict[str, Any], int] | None:
    """The columns ``payload`` sets and the route coach calls it adds; ``None``: not ours."""
    match payload:
        case RequestRouted():
            return {
                "school_id": payload.school_id,
                "ib_id": payload.ib_id,
                "receiving_worker_id": payload.receiving_worker_id,
                "work_unit_id": payload.work_unit_id,
                "need_areas": payload.need_areas,
                "submitted_at": payload.submitted_at,
                "routed_at": payload.routed_at,
                "contact_due_on": payload.contact_due_on,
                "contact_due_at": payload.contact_due_at,
            }, 0
        case SpecialistRequired():
            return {"specialist_required": True, "specialist_id": payload.specialist_id}, 0
        case CaseOfferedToWorkUnit():
            return {"offered_to": payload.work_unit_id, "offered_at": payload.offered_at}, 0
        case CaseClaimed():
            return {"claimed_by": payload.worker_id, "claimed_at": payload.claimed_at}, 0
        case FirstContactRecorded():
            return {"first_contact_at": payload.contacted_at}, 0
        case ContactDeadlineApproaching():
            return {"reminded_at": payload.raised_at}, 0
        case ContactDeadlineMissed():
            return {"missed_at": payload.missed_at}, 0
        case RouteCoachCalledIn():
            # Counted, not set: each event is applied once (the runner marks it handled
            # in the same transaction).
            return {}, 1
        case TrajectoryClosed():
            # A closed trajectory leaves the worker's caseload.
            return {"closed_at": payload.closed_at}, 0
        case CaseWithdrawn():
            # A withdrawn request is nobody's work any more: it leaves the inbox, the
            # queue, the caseload and the open deadlines, like a closed case.
            return {"closed_at": payload.withdrawn_at}, 0
        case _:
            return None


@dataclass
class _Row:
    """What a batch's events of one case do to its row."""

    swv: str  # only written when the row is new: a case never changes tenant
    columns: dict[str, Any] = field(default_factory=dict)
    coach_calls: int = 0


def _fold(rows: dict[UUID, _Row], event: CloudEvent, payload: EventPayload) -> None:
    changes = _changes(payload)
    if changes is None:
        return
    columns, coach_calls = changes
    case_id = UUID(event.subject)
    row = rows.get(case_id)
    if row is None:
        rows[case_id] = row = _Row(event.swv)
    row.columns.update(columns)
    row.coach_calls += coach_calls


async def _write(conn: asyncpg.Connection, rows: dict[UUID, _Row]) -> None:
    """Upsert ``rows``: one statement per set of columns (a case appears once in each)."""
    shapes: dict[tuple[tuple[str, ...], bool], list[tuple[UUID, _Row]]] = {}
    for case_id, row in rows.items():
        shape = (tuple(sorted(row.columns)), row.coach_calls > 0)
        shapes.setdefault(shape, []).append((case_id, row))
    for (names, counts), members in shapes.items():
        members.sort(key=lambda member: member[0])  # rows locked in one order
        await conn.execute(
            _upsert_sql(names, counts),
            [case_id for case_id, _ in members],
            [row.swv for _, row in members],
            *(_column(name, members) for name in names),
            *([[row.coach_calls for _, row in members]] if counts else []),
        )


def _column(name: str, members: list[tuple[UUID, _Row]]) -> list[Any]:
    values = [row.columns[name] for _, row in members]
    if _TYPES[name] == "text[]":
        # unnest() flattens a two-dimensional array: lists travel as JSON text instead.
        return [None if v is None else orjson.dumps(v).decode() for v in values]
    return values


def _upsert_sql(names: tuple[str, ...], counts: bool) -> str:
    sql = _SQL.get((names, counts))
    if sql is None:
        columns = ["case_id", "swv", *names, *(["route_coach_calls"] if counts else [])]
        types = ["uuid", "text", *(_array_type(n) for n in names), *(["int"] if counts else [])]
        aliases = [f"c{i}" for i in range(len(columns))]
        selected = [
            f"ARRAY(SELECT e FROM jsonb_array_elements_text(u.{alias}::jsonb) "
            f"WITH ORDINALITY AS t(e, i) ORDER BY i)"
            if _TYPES.get(column) == "text[]"
            else f"u.{alias}"
            for alias, column in zip(aliases, columns, strict=True)
        ]
        updates = [f"{n} = excluded.{n}" for n in names]
        if counts:
            updates.append(
                "route_coach_calls = cases.route_coach_calls + excluded.route_coach_calls"
            )
        arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
        sql = _SQL[(names, counts)] = (
            f"INSERT INTO cases ({', '.join(columns)}) "
            f"SELECT {', '.join(selected)} FROM unnest({arrays}) AS u({', '.join(aliases)}) "
            f"ON CONFLICT (case_id) DO UPDATE SET {', '.join(updates)}"
        )
    return sql


def _array_type(name: str) -> str:
    return "text" if _TYPES[name] == "text[]" else _TYPES[name]


_SQL: dict[tuple[tuple[str, ...], bool], str] = {}


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
        rows: dict[UUID, _Row] = {}
        _fold(rows, event, payload)
        await _write(conn, rows)

    async def handle_batch(self, conn: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        """The batch folded per case in order, then one upsert per set of columns."""
        rows: dict[UUID, _Row] = {}
        for delivery in deliveries:
            _fold(rows, delivery.event, delivery.payload)
        await _write(conn, rows)
