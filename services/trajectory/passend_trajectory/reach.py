"""Who may see a case: its scoping facts learnt from intake's, assignment's and own events.

Trajectory's own stream knows the school and the claiming worker; the work unit, the
addressed worker, the pupil, the route coaches and the Team NO region come from the other
services' events. The projection merges them per case (set unions, first value kept,
the latest escalation's region), so any interleaving of the topics ends in the same row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone import tenancy
from passend_backbone.auth import CaseFacts, Principal, sees_case
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    RequestRouted,
    RouteCoachCalledIn,
)
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestSubmitted
from passend_contracts.events.trajectory import EscalatedToTeamNO, TrajectoryOpened
from passend_trajectory.domain.state import TrajectoryState

_TABLES = """
CREATE TABLE case_reach (
    case_id          uuid PRIMARY KEY,
    swv              text NOT NULL,
    school_id        text,
    pupil_ref        text,
    work_unit_ids    text[] NOT NULL DEFAULT '{}',
    workers          text[] NOT NULL DEFAULT '{}',
    route_coaches    text[] NOT NULL DEFAULT '{}',
    escalated_region text,
    escalated_at     timestamptz
);
"""

_MERGE = """
INSERT INTO case_reach AS r (case_id, swv, school_id, pupil_ref, work_unit_ids, workers,
                             route_coaches, escalated_region, escalated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (case_id) DO UPDATE SET
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
WHERE r.swv = EXCLUDED.swv
"""

# Per event type: which of its fields scope the case, and as what.
_WORKER_FIELDS = ("addressed_worker_id", "receiving_worker_id", "worker_id")
_SCOPING = frozenset(
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


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value) if value else None


def _names(*values: str | None) -> list[str]:
    return sorted({v for v in values if v})


class CaseReach:
    """Projection ``case_reach``: the scoping facts of every case the service heard of."""

    name = "case_reach"
    topics: tuple[str, ...] = (topics.INTAKE, topics.ASSIGNMENT, topics.TRAJECTORY)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_TABLES)
        await tenancy.protect(conn, "case_reach")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if event.type not in _SCOPING:
            return
        data = event.data
        escalated = event.type == EscalatedToTeamNO.event_type
        await conn.execute(
            _MERGE,
            UUID(str(data["case_id"])),
            event.swv,
            _text(data, "school_id"),
            _text(data, "pupil_ref") if event.type == RequestSubmitted.event_type else None,
            _names(_text(data, "work_unit_id")),
            _names(*(_text(data, f) for f in _WORKER_FIELDS)),
            _names(_text(data, "route_coach_id")),
            (_text(data, "region") or _text(data, "municipality")) if escalated else None,
            event.time if escalated else None,
        )


def facts_of(swv: str, row: asyncpg.Record | None) -> CaseFacts:
    """The scoping facts of a ``case_reach`` row (none known: only whole-SWV roles see it)."""
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


async def case_facts(pool: asyncpg.Pool, swv: str, case_id: UUID) -> CaseFacts:
    """What the read model knows that scopes the case, within the caller's tenant only."""
    async with tenant_read_model(pool, CaseReach.name, swv) as conn:
        row = await conn.fetchrow("SELECT * FROM case_reach WHERE case_id = $1", case_id)
    return facts_of(swv, row)


async def visible(
    pool: asyncpg.Pool, principal: Principal, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows (each with a ``case_id``) of cases within the caller's reach."""
    ids = sorted({UUID(r["case_id"]) for r in rows})
    async with tenant_read_model(pool, CaseReach.name, principal.swv) as conn:
        found = await conn.fetch("SELECT * FROM case_reach WHERE case_id = ANY($1)", ids)
    facts = {str(r["case_id"]): facts_of(principal.swv, r) for r in found}
    return [
        r
        for r in rows
        if within_reach(principal, facts.get(r["case_id"], CaseFacts(swv=principal.swv)))
    ]


def with_stream(facts: CaseFacts, state: TrajectoryState) -> CaseFacts:
    """The facts completed with the stream's own (a just-opened case the projection lags)."""
    opened = state.opened
    if opened is None:
        return facts
    region = facts.escalated_region
    if state.escalations:  # the stream's own latest escalation decides
        latest = state.escalations[-1].escalated
        region = latest.region or latest.municipality
    return CaseFacts(
        swv=facts.swv,
        school_id=facts.school_id or opened.school_id,
        pupil_ref=facts.pupil_ref,
        work_unit_ids=facts.work_unit_ids,
        workers=facts.workers | CaseFacts.names(opened.worker_id),
        escalated_region=region,
        route_coaches=facts.route_coaches,
    )


def within_reach(principal: Principal, facts: CaseFacts) -> bool:
    """Whether the case is the caller's to see (issue 9: 404 otherwise)."""
    return sees_case(principal, facts)
