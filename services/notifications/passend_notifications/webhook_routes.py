"""The webhook messages an event causes: minimised, routed to its case's municipality, or held.

Runs in the scheduler's transaction (the consumer's), so the route, the held events and
the queued messages commit together with the event's handled mark; a case's rows are
locked while it is routed, so two partitions never route one case at once.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.integration import minimise, municipality_named
from passend_notifications import directory
from passend_notifications.domain.planning import PlannedMessage, plan_webhooks
from passend_notifications.domain.webhook_routing import WebhookRoute, route


async def plan_for_event(
    conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload, case_id: UUID
) -> list[PlannedMessage]:
    """The webhook messages of ``event`` and of the case's held events it releases."""
    shown = minimise(event, payload)
    municipality = municipality_named(payload)
    if shown is None and municipality is None:
        return []  # nothing a municipality may see, and no news of where the case belongs
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", f"{event.swv}/{case_id}"
    )
    row = await conn.fetchrow(
        "SELECT region, municipality, set_at FROM webhook_routes WHERE swv = $1 AND case_id = $2",
        event.swv,
        case_id,
    )
    current = None if row is None else WebhookRoute(**dict(row))
    held_rows = await conn.fetch(
        "SELECT event FROM webhook_held WHERE swv = $1 AND case_id = $2 ORDER BY seq",
        event.swv,
        case_id,
    )
    held = [CloudEvent.model_validate(_json(r["event"])) for r in held_rows]
    routed = route(current, held, shown, municipality, event.time)
    if routed.route is not None and routed.route != current:
        await conn.execute(
            "INSERT INTO webhook_routes (swv, case_id, region, municipality, set_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (swv, case_id) DO UPDATE SET "
            "region = excluded.region, municipality = excluded.municipality, "
            "set_at = excluded.set_at WHERE webhook_routes.set_at <= excluded.set_at",
            event.swv,
            case_id,
            routed.route.region,
            routed.route.municipality,
            routed.route.set_at,
        )
    if routed.hold is not None:
        await conn.execute(
            "INSERT INTO webhook_held (swv, case_id, event_id, event, held_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
            event.swv,
            case_id,
            routed.hold.id,
            routed.hold.model_dump(mode="json"),
            event.time,
        )
    if routed.released:
        await conn.execute(
            "DELETE FROM webhook_held WHERE swv = $1 AND case_id = $2", event.swv, case_id
        )
    planned: list[PlannedMessage] = []
    for region, delivered in routed.deliver:
        subscribers = await directory.subscriptions(conn, event.swv, region, delivered.type)
        planned.extend(plan_webhooks(delivered, case_id, subscribers))
    return planned


def _json(value: Any) -> Any:
    # The service's pool decodes jsonb into dicts (passend_backbone.db); a bare connection
    # hands over text.
    return json.loads(value) if isinstance(value, str) else value
