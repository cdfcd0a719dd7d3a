"""Who may see a case: the ``case_reach`` projection and the stream's own facts (issue 9).

The table and the merge are the backbone's (``passend_backbone.auth.case_reach``): the
school and pupil from intake's request, work units, workers and route coaches from
assignment, the Team NO region from the escalation. A case claimed a moment ago is not in
the read model yet, so the stream's own facts complete it (:func:`with_stream`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone import tenancy
from passend_backbone.auth import CaseFacts, Principal, case_reach, sees_case
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_trajectory.domain.state import TrajectoryState

TABLE = "case_reach"


class CaseReach:
    """Projection ``case_reach``: the scoping facts of every case the service heard of."""

    name = "case_reach"
    topics: tuple[str, ...] = (topics.INTAKE, topics.ASSIGNMENT, topics.TRAJECTORY)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(case_reach.table_sql(TABLE))
        await tenancy.protect(conn, TABLE)

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        case_id = getattr(payload, "case_id", None)
        if isinstance(case_id, UUID):  # events about no case (directory, settings) scope none
            await case_reach.learn(conn, event, case_id, table=TABLE)


async def case_facts(pool: asyncpg.Pool, swv: str, case_id: UUID) -> CaseFacts:
    """What the read model knows that scopes the case, within the caller's tenant only."""
    async with tenant_read_model(pool, CaseReach.name, swv) as conn:
        found = await case_reach.fetch_facts(conn, swv, case_id, table=TABLE)
    return found if found is not None else CaseFacts(swv=swv)


async def visible(
    pool: asyncpg.Pool, principal: Principal, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows (each with a ``case_id``) of cases within the caller's reach."""
    ids = sorted({UUID(r["case_id"]) for r in rows})
    async with tenant_read_model(pool, CaseReach.name, principal.swv) as conn:
        found = await conn.fetch(
            f"SELECT * FROM {TABLE} WHERE swv = $1 AND case_id = ANY($2)", principal.swv, ids
        )
    facts = {str(r["case_id"]): case_reach.facts_of(principal.swv, r) for r in found}
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
    region = None
    if state.escalations:  # TNO: the stream's own latest escalation decides
        latest = state.escalations[-1].escalated
        region = latest.region or latest.municipality
    return with_trajectory(facts, opened.school_id, opened.worker_id, region)


def with_trajectory(
    facts: CaseFacts, school_id: str | None, worker_id: str | None, region: str | None
) -> CaseFacts:
    """The facts completed with the trajectory's own: its school and claiming worker, and
    the region of its latest escalation (TNO), when it has one."""
    return CaseFacts(
        swv=facts.swv,
        school_id=facts.school_id or school_id,
        pupil_ref=facts.pupil_ref,
        work_unit_ids=facts.work_unit_ids,
        workers=facts.workers | CaseFacts.names(worker_id),
        escalated_region=region or facts.escalated_region,
        route_coaches=facts.route_coaches,
    )


def within_reach(principal: Principal, facts: CaseFacts) -> bool:
    """Whether the case is the caller's to see (issue 9: 404 otherwise)."""
    return sees_case(principal, facts)
