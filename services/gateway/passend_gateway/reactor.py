"""The gateway's one consumer: every case event of the four topics, routed to its region."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from passend_backbone.eventstore import EventStore
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_gateway import unpublished
from passend_gateway.policy import MUNICIPALITY, Audience, case_of
from passend_gateway.publisher import Publisher, RegionTopicMissing
from passend_gateway.routing import Route, decide

_log = structlog.get_logger("passend.gateway")


class IntegrationReactor:
    """Routes, holds and publishes in the consumer's transaction, which marks the event handled.

    ``conn`` is the open transaction of the consumer's batch (``passend_backbone.consumer``):
    the routes and held events written here commit with the handled marks, and the
    offsets are committed after that. What it publishes is acknowledged before that
    transaction commits: a crash in between, or a batch rolled back because another event
    of it failed, publishes again (same ids, which receivers deduplicate), and held events
    are deleted in the transaction that publishes them, so none is lost and none stays
    held once its case's region is known.
    """

    name = "integration"
    topics: tuple[str, ...] = topics.ALL

    def __init__(self, publisher: Publisher, audience: Audience = MUNICIPALITY) -> None:
        self.publisher = publisher
        self.audience = audience

    async def react(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        payload: EventPayload,
        store: EventStore,
    ) -> None:
        case = case_of(payload)
        if case is None:
            return
        case_id = UUID(case)
        # Two gateway instances (partitions of different topics) never route one case at
        # once: otherwise one could hold an event while the other releases the case's held
        # ones without it. Held until the transaction ends.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", case)
        row = await conn.fetchrow(
            "SELECT region, municipality, set_by_event, set_at FROM case_routes WHERE case_id = $1",
            case_id,
        )
        current = None if row is None else Route(**_route_fields(row))
        held_rows = await conn.fetch(
            "SELECT event FROM held_events WHERE case_id = $1 ORDER BY seq", case_id
        )
        held = [CloudEvent.model_validate(_json(r["event"])) for r in held_rows]
        decision = decide(current, held, event, payload, self.audience)
        if decision.route is not None and decision.route != current:
            await _store_route(conn, case_id, decision.route)
        if decision.hold is not None:
            await conn.execute(
                "INSERT INTO held_events (event_id, case_id, event) VALUES ($1, $2, $3) "
                "ON CONFLICT (event_id) DO NOTHING",
                decision.hold.id,
                case_id,
                decision.hold.model_dump(mode="json"),
            )
        if decision.released:
            await conn.execute("DELETE FROM held_events WHERE case_id = $1", case_id)
        for region, shown in decision.publish:
            if await unpublished.waiting(conn, region):
                await unpublished.park(conn, region, shown)  # in order behind the waiting
                continue
            try:
                await self.publisher.publish(region, shown)
            except RegionTopicMissing as exc:
                # One region's missing topic must not stall the others: park it (in this
                # transaction) and send it once the operator made the topic.
                _log.error("integration_topic_missing", region=region, problem=str(exc))
                await unpublished.park(conn, region, shown)


def _route_fields(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "region": row["region"],
        "municipality": row["municipality"],
        "set_by_event": str(row["set_by_event"]),
        "set_at": row["set_at"],
    }


def _json(value: Any) -> Any:
    # The service's pool decodes jsonb into dicts (passend_backbone.db); a bare connection
    # hands over text.
    return json.loads(value) if isinstance(value, str) else value


async def _store_route(conn: asyncpg.Connection, case_id: UUID, route: Route) -> None:
    await conn.execute(
        "INSERT INTO case_routes (case_id, region, municipality, set_by_event, set_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id) DO UPDATE SET "
        "region = excluded.region, municipality = excluded.municipality, "
        "set_by_event = excluded.set_by_event, set_at = excluded.set_at "
        "WHERE case_routes.set_at <= excluded.set_at",
        case_id,
        route.region,
        route.municipality,
        UUID(route.set_by_event),
        route.set_at,
    )
