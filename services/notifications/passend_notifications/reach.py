"""Who may see a case's messages: its scoping facts, learnt from the consumed events.

The work unit, the workers, the school, the pupil, the route coaches and the Team NO region
come from intake's, assignment's and trajectory's events, merged into ``case_facts`` (set
unions, first value kept, the latest escalation's region), so any interleaving of the
topics ends in the same row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.auth import CaseFacts
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import RequestSubmitted
from passend_contracts.events.trajectory import EscalatedToTeamNO

_WORKER_FIELDS = ("addressed_worker_id", "receiving_worker_id", "worker_id")

_MERGE = """
INSERT INTO case_facts AS f (swv, case_id, school_id, pupil_ref, work_unit_ids, workers,
                             route_coaches, escalated_region, escalated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (swv, case_id) DO UPDATE SET
    school_id = coalesce(f.school_id, EXCLUDED.school_id),
    pupil_ref = coalesce(f.pupil_ref, EXCLUDED.pupil_ref),
    work_unit_ids = ARRAY(SELECT DISTINCT u FROM unnest(f.work_unit_ids || EXCLUDED.work_unit_ids)
                          AS u ORDER BY u),
    workers = ARRAY(SELECT DISTINCT w FROM unnest(f.workers || EXCLUDED.workers) AS w ORDER BY w),
    route_coaches = ARRAY(SELECT DISTINCT c FROM unnest(f.route_coaches || EXCLUDED.route_coaches)
                          AS c ORDER BY c),
    escalated_region = CASE
        WHEN EXCLUDED.escalated_at IS NOT NULL
             AND (f.escalated_at IS NULL OR EXCLUDED.escalated_at >= f.escalated_at)
        THEN EXCLUDED.escalated_region ELSE f.escalated_region END,
    escalated_at = greatest(f.escalated_at, EXCLUDED.escalated_at)
RETURNING pupil_ref
"""


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value) if value else None


def _names(*values: str | None) -> list[str]:
    return sorted({v for v in values if v})


async def learn(conn: asyncpg.Connection, event: CloudEvent, case_id: UUID) -> str | None:
    """Merge what ``event`` says about who may see the case; the case's pupil, if known."""
    data = event.data
    escalated = event.type == EscalatedToTeamNO.event_type
    pupil_ref: str | None = await conn.fetchval(
        _MERGE,
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


def facts_of(swv: str, row: asyncpg.Record | None) -> CaseFacts | None:
    """The policy's facts of a ``case_facts`` row; None for a case never heard of."""
    if row is None:
        return None
    return CaseFacts(
        swv=swv,
        school_id=row["school_id"],
        pupil_ref=row["pupil_ref"],
        work_unit_ids=frozenset(row["work_unit_ids"]),
        workers=frozenset(row["workers"]),
        escalated_region=row["escalated_region"],
        route_coaches=frozenset(row["route_coaches"]),
    )


async def case_facts(conn: asyncpg.Connection, swv: str, case_id: UUID) -> CaseFacts | None:
    """What scopes the case (None: never heard of in ``swv``)."""
    row = await conn.fetchrow(
        "SELECT * FROM case_facts WHERE swv = $1 AND case_id = $2", swv, case_id
    )
    return facts_of(swv, row)
