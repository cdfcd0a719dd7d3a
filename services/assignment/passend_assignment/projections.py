"""The case board: one row per case behind the inbox, queue, caseload, deadline and lead-time views.

Each event sets only its own columns with an upsert, so the row ends the same whatever
order events of different topics arrive in (a trajectory's closing may come first). A
batch is folded per case in memory first (later events of a case overwrite its earlier
ones' columns, as one upsert after another would) and written with one statement per
set of columns, so a batch costs a few round trips instead of one per event.

Values travel to PostgreSQL as text and are cast there, so the same statements take a
parsed payload's values and, in a rebuild, the JSON body's own (``handle_raw_batch``:
the rebuild skips the contract's field-by-field parsing for events of a shape it has
validated once; a value PostgreSQL can't cast fails the batch, which the rebuild then
applies through the contract).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from passend_backbone import tenancy
from passend_backbone.consumer.deliveries import Delivery, RawEvent
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
from passend_contracts.registry import parse_data

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


# The same as _changes, for a JSON body: per event type, (column, body key) pairs, the
# columns it sets to a constant, and the route coach calls it adds.
_RAW: dict[str, tuple[tuple[tuple[str, str], ...], dict[str, Any], int]] = {
    RequestRouted.event_type: (
        (
            ("school_id", "school_id"),
            ("ib_id", "ib_id"),
            ("receiving_worker_id", "receiving_worker_id"),
            ("work_unit_id", "work_unit_id"),
            ("need_areas", "need_areas"),
            ("submitted_at", "submitted_at"),
            ("routed_at", "routed_at"),
            ("contact_due_on", "contact_due_on"),
            ("contact_due_at", "contact_due_at"),
        ),
        {},
        0,
    ),
    SpecialistRequired.event_type: (
        (("specialist_id", "specialist_id"),),
        {"specialist_required": True},
        0,
    ),
    CaseOfferedToWorkUnit.event_type: (
        (("offered_to", "work_unit_id"), ("offered_at", "offered_at")),
        {},
        0,
    ),
    CaseClaimed.event_type: ((("claimed_by", "worker_id"), ("claimed_at", "claimed_at")), {}, 0),
    FirstContactRecorded.event_type: ((("first_contact_at", "contacted_at"),), {}, 0),
    ContactDeadlineApproaching.event_type: ((("reminded_at", "raised_at"),), {}, 0),
    ContactDeadlineMissed.event_type: ((("missed_at", "missed_at"),), {}, 0),
    RouteCoachCalledIn.event_type: ((), {}, 1),
    TrajectoryClosed.event_type: ((("closed_at", "closed_at"),), {}, 0),
    CaseWithdrawn.event_type: ((("closed_at", "withdrawn_at"),), {}, 0),
}


def _raw_changes(event: RawEvent) -> tuple[dict[str, Any], int] | None:
    """:func:`_changes` of a raw event: the same columns, the body's own values.

    A body without one of the keys (written before a field was added) is parsed with the
    contract, whose default then counts, as it does for ``handle``.
    """
    spec = _RAW.get(event.type)
    if spec is None:
        return _changes(parse_data(event.type, event.data))
    pairs, constants, coach_calls = spec
    data = event.data
    try:
        columns = {column: data[key] for column, key in pairs}
    except KeyError:
        return _changes(parse_data(event.type, data))
    if constants:
        columns.update(constants)
    return columns, coach_calls


@dataclass
class _Row:
    """What a batch's events of one case do to its row."""

    swv: str  # only written when the row is new: a case never changes tenant
    columns: dict[str, Any] = field(default_factory=dict)
    coach_calls: int = 0


def _fold(rows: dict[str, _Row], event: CloudEvent, payload: EventPayload) -> None:
    _fold_changes(rows, event.subject, event.swv, _changes(payload))


def _fold_changes(
    rows: dict[str, _Row], subject: str, swv: str, changes: tuple[dict[str, Any], int] | None
) -> None:
    if changes is None:
        return
    columns, coach_calls = changes
    # Rows by the case id's canonical text (one row per case however the id was written).
    case_id = subject if subject == subject.lower() and len(subject) == 36 else str(UUID(subject))
    row = rows.get(case_id)
    if row is None:
        rows[case_id] = row = _Row(swv)
    row.columns.update(columns)
    row.coach_calls += coach_calls


async def _write(conn: asyncpg.Connection, rows: dict[str, _Row]) -> None:
    """Upsert ``rows``: one statement per set of columns (a case appears once in each)."""
    shapes: dict[tuple[tuple[str, ...], bool], list[tuple[str, _Row]]] = {}
    for case_id, row in rows.items():
        shape = (tuple(sorted(row.columns)), row.coach_calls > 0)
        shapes.setdefault(shape, []).append((case_id, row))
    for (names, counts), members in shapes.items():
        members.sort(key=lambda member: member[0])  # rows locked in one (the uuid) order
        await conn.execute(
            _upsert_sql(names, counts),
            [case_id for case_id, _ in members],
            [row.swv for _, row in members],
            *(_column(name, members) for name in names),
            *([[row.coach_calls for _, row in members]] if counts else []),
        )


def _column(name: str, members: list[tuple[str, _Row]]) -> list[str | None]:
    """The column's values as text, cast to their type in the statement."""
    values = [row.columns[name] for _, row in members]
    kind = _TYPES[name]
    if kind == "text[]":
        # unnest() flattens a two-dimensional array: lists travel as JSON text instead.
        return [None if v is None else orjson.dumps(v).decode() for v in values]
    if kind == "text":
        return values
    return [_text(v) for v in values]


def _text(value: Any) -> str | None:
    """A parsed value (datetime, date, bool) or a JSON body's (already text) as text."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)


def _upsert_sql(names: tuple[str, ...], counts: bool) -> str:
    sql = _SQL.get((names, counts))
    if sql is None:
        columns = ["case_id", "swv", *names, *(["route_coach_calls"] if counts else [])]
        # Every column but the case id and the counts travels as text (see _column).
        types = ["uuid", "text", *("text" for _ in names), *(["int"] if counts else [])]
        aliases = [f"c{i}" for i in range(len(columns))]
        selected = [
            _selected(alias, column) for alias, column in zip(aliases, columns, strict=True)
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


def _selected(alias: str, column: str) -> str:
    kind = _TYPES.get(column)
    if kind == "text[]":
        return (
            f"ARRAY(SELECT e FROM jsonb_array_elements_text(u.{alias}::jsonb) "
            f"WITH ORDINALITY AS t(e, i) ORDER BY i)"
        )
    if kind is None or kind == "text":
        return f"u.{alias}"
    return f"u.{alias}::{kind}"


_SQL: dict[tuple[tuple[str, ...], bool], str] = {}


class CaseBoard:
    """Projection ``case_board`` over assignment's own events and trajectory's closings."""

    name: str = CASE_BOARD
    topics: tuple[str, ...] = (topics.ASSIGNMENT, topics.TRAJECTORY)
    raw_types: frozenset[str] = frozenset(_RAW)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_SCHEMA)
        await tenancy.protect(conn, "cases")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        rows: dict[str, _Row] = {}
        _fold(rows, event, payload)
        await _write(conn, rows)

    async def handle_batch(self, conn: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        """The batch folded per case in order, then one upsert per set of columns."""
        rows: dict[str, _Row] = {}
        for delivery in deliveries:
            _fold(rows, delivery.event, delivery.payload)
        await _write(conn, rows)

    async def handle_raw_batch(
        self, conn: asyncpg.Connection, events: Sequence[RawEvent | Delivery]
    ) -> None:
        """The same as :meth:`handle_batch`, taking raw events' values from their JSON."""
        rows: dict[str, _Row] = {}
        for event in events:
            if isinstance(event, RawEvent):
                _fold_changes(rows, event.subject, event.swv, _raw_changes(event))
            else:
                _fold(rows, event.event, event.payload)
        await _write(conn, rows)
