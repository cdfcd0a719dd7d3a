"""Who may see a case: its scoping facts, learnt from the events of every service.

The school and the pupil come from intake's request; the work unit, the addressed and
claiming workers and the route coaches from assignment's routing, offers, claims and
coaching; the Team NO region from trajectory's escalation. A service that answers
questions about cases keeps these facts in a table of this shape and merges every
consumed event into it with :func:`learn`: set unions, the first value kept, the latest
escalation's region. So any interleaving of the topics ends in the same row, and
:func:`facts_of` turns the row into the :class:`~passend_backbone.auth.policy.CaseFacts`
the access policy decides on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.auth.policy import CaseFacts
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    RequestRouted,
    RouteCoachCalledIn,
)
from passend_contracts.events.intake import RequestSubmitted
from passend_contracts.events.trajectory import EscalatedToTeamNO, TrajectoryOpened

# The events that say something about who may see their case.
SCOPING = frozenset(
    {
        RequestSubmitted.event_type,
        RequestRouted.event_type,
        CaseOfferedToWorkUnit.event_type,
        CaseClaimed.event_type,
        RouteCoachCalledIn.event_type,
        TrajectoryOpened.event_type,
        EscalatedToTeamNO.event_type,
    }
)
_WORKER_FIELDS = ("addressed_worker_id", "receiving_worker_id", "worker_id")


def table_sql(table: str) -> str:
    """``CREATE TABLE`` for a case-reach table named ``table`` (one row per case)."""
    return f"""
CREATE TABLE {table} (
    swv              text NOT NULL,
    case_id          uuid NOT NULL,
    school_id        text,
    pupil_ref        text,
    work_unit_ids    text[] NOT NULL DEFAULT '{{}}',
    workers          text[] NOT NULL DEFAULT '{{}}',
    route_coaches    text[] NOT NULL DEFAULT '{{}}',
    escalated_region text,
    escalated_at     timestamptz,
    PRIMARY KEY (swv, case_id)
);
"""


def _merge_sql(table: str) -> str:
    return f"""
INSERT INTO {table} AS r (swv, case_id, school_id, pupil_ref, work_unit_ids, workers,
                          route_coaches, escalated_region, escalated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (swv, case_id) DO UPDATE SET
    school_id = coalesce(r.school_id, EXCLUDED.school_id),
    pupil_ref = coalesce(r.pupil_ref, EXCLUDED.pupil_ref),
    work_unit_ids = ARRAY(SELECT DISTINCT u FROM unnest(r.work_unit_ids || EXCLUDED.work_unit_ids)
                          AS u ORDER BY u),
    workers = ARRAY(SELECT DISTINCT w FROM unnest(r.workers || EXCLUDED.workers) AS w ORDER BY w),
    route_coaches = ARRAY(SELECT DISTINCT c FROM unnest(r.route_coaches || EXCLUDED.route_coaches)
                          AS c ORDER BY c),
    escalated_region = CASE
        WHEN EXCLUDED.escalated_at IS NOT NULL
             AND (r.escalated_at IS NULL OR EXCLUDED.escalated_at >= r.escalated_at)
        THEN EXCLUDED.escalated_region ELSE r.escalated_region END,
    escalated_at = greatest(r.escalated_at, EXCLUDED.escalated_at)
RETURNING pupil_ref
"""


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value) if value else None


def _names(*values: str | None) -> list[str]:
    return sorted({v for v in values if v})


async def learn(
    conn: asyncpg.Connection, event: CloudEvent, case_id: UUID, *, table: str = "case_reach"
) -> str | None:
    """Merge what ``event`` says about who may see its case; the case's pupil, if known.

    Every event of a case is merged (a row appears for any case heard of); only the
    events of :data:`SCOPING` add facts.
    """
    data = event.data if event.type in SCOPING else {}
    escalated = event.type == EscalatedToTeamNO.event_type
    pupil_ref: str | None = await conn.fetchval(
        _merge_sql(table),
        event.swv,
        case_id,
        _text(data, "school_id"),
        _text(data, "pupil_ref") if event.type == RequestSubmitted.event_type else None,
        _names(_text(data, "work_unit_id")),
        _names(*(_text(data, f) for f in _WORKER_FIELDS)),
        _names(_text(data, "route_coach_id")),
        (_text(data, "region") or _text(data, "municipality")) if escalated else None,
        event.time if escalated else None,
    )
    return pupil_ref


def facts_of(swv: str, row: Mapping[str, Any] | None) -> CaseFacts:
    """The policy's facts of a case-reach row (none known: only whole-SWV roles see it)."""
    if row is None:
        return CaseFacts(swv=swv)
    return CaseFacts(
        swv=row["swv"],
        school_id=row["school_id"],
        pupil_ref=row["pupil_ref"],
        work_unit_ids=frozenset(row["work_unit_ids"]),
        workers=frozenset(row["workers"]),
        escalated_region=row["escalated_region"],
        route_coaches=frozenset(row["route_coaches"]),
    )


async def fetch_facts(
    conn: asyncpg.Connection, swv: str, case_id: UUID, *, table: str = "case_reach"
) -> CaseFacts | None:
    """The facts of one case in ``table`` (None: never heard of in ``swv``)."""
    row = await conn.fetchrow(
        f"SELECT * FROM {table} WHERE swv = $1 AND case_id = $2", swv, case_id
    )
    return None if row is None else facts_of(swv, row)
