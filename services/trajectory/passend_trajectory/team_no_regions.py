"""Projection ``team_no_regions``: each SWV's Team NO regions, for routing escalations (TNO).

The SWV configures its regions in assignment's directory (``TeamNoRegionConfigured``: the
municipalities a region covers, by CBS code, and its members). An escalation goes to the
region that covers the pupil's municipality; the API looks it up here before deciding.
Each row keeps the latest configuration by its own timestamp, so redeliveries and any
order of arrival end in the same table.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from passend_backbone import tenancy
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import TeamNoRegionConfigured
from passend_contracts.events.base import EventPayload
from passend_contracts.municipalities import display_name
from passend_trajectory.domain.evaluation import RecordEvaluation
from passend_trajectory.domain.team_no import Escalate

_TABLES = """
CREATE TABLE team_no_regions (
    swv             text NOT NULL,
    region          text NOT NULL,
    name            text NOT NULL,
    municipalities  text[] NOT NULL DEFAULT '{}',
    members         text[] NOT NULL DEFAULT '{}',
    configured_at   timestamptz NOT NULL,
    PRIMARY KEY (swv, region)
);
CREATE INDEX team_no_regions_municipalities ON team_no_regions USING gin (municipalities);
"""


class TeamNoRegions:
    """Projection ``team_no_regions``: the SWV's regions, their municipalities and members."""

    name = "team_no_regions"
    topics: tuple[str, ...] = (topics.ASSIGNMENT,)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_TABLES)
        await tenancy.protect(conn, "team_no_regions")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if not isinstance(payload, TeamNoRegionConfigured):
            return
        await conn.execute(
            "INSERT INTO team_no_regions AS r (swv, region, name, municipalities, members, "
            "configured_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (swv, region) DO UPDATE "
            "SET name = excluded.name, municipalities = excluded.municipalities, "
            "members = excluded.members, configured_at = excluded.configured_at "
            "WHERE excluded.configured_at >= r.configured_at",
            event.swv,
            payload.region,
            payload.name,
            list(payload.municipalities),
            list(payload.members),
            payload.configured_at,
        )


async def region_covering(pool: asyncpg.Pool, swv: str, municipality: str) -> str | None:
    """TNO: the SWV's Team NO region that covers ``municipality`` (``None``: none does)."""
    async with tenant_read_model(pool, TeamNoRegions.name, swv) as conn:
        found: str | None = await conn.fetchval(
            "SELECT region FROM team_no_regions WHERE swv = $1 AND $2 = ANY (municipalities) "
            "ORDER BY configured_at DESC LIMIT 1",
            swv,
            municipality,
        )
    return found


async def regions_of(pool: asyncpg.Pool, swv: str) -> list[dict[str, Any]]:
    """TNO: the SWV's Team NO regions by id, each with its municipalities (code and name)
    and members."""
    async with tenant_read_model(pool, TeamNoRegions.name, swv) as conn:
        rows = await conn.fetch(
            "SELECT region, name, municipalities, members FROM team_no_regions "
            "WHERE swv = $1 ORDER BY region",
            swv,
        )
    return [
        {
            "region": r["region"],
            "name": r["name"],
            "municipalities": [
                {"code": code, "name": display_name(code)} for code in r["municipalities"]
            ],
            "members": list(r["members"]),
        }
        for r in rows
    ]


async def routed(pool: asyncpg.Pool, swv: str, command: Escalate) -> Escalate:
    """TNO: ``command`` with the region the SWV configured for its municipality (whatever
    the caller sent; none when no region covers it, which the rule refuses)."""
    region = await region_covering(pool, swv, command.municipality)
    return command.model_copy(update={"region": region})


async def routed_evaluation(
    pool: asyncpg.Pool, swv: str, command: RecordEvaluation
) -> RecordEvaluation:
    """TNO: an evaluation that escalates, with the region of its municipality."""
    details = command.escalation
    if details is None:
        return command
    region = await region_covering(pool, swv, details.municipality)
    return command.model_copy(update={"escalation": details.model_copy(update={"region": region})})
