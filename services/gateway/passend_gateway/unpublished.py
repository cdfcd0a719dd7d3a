"""Events waiting for their region's integration topic, and sending them once it exists.

The gateway never creates a topic (the operator's ``passend-ops topics apply`` does). An
event for a region whose topic is missing is parked here, minimised, in order; every
later event of that region queues behind it, and the other regions go on. A background
task sends them in order once the topic exists; a gauge and an alert make them seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog

from passend_backbone.service import GaugeReading, ServiceContext
from passend_contracts.envelope import CloudEvent
from passend_gateway.publisher import Publisher, RegionTopicMissing

UNPUBLISHED_EVENTS = "passend_gateway_unpublished_events"
RETRY_SECONDS = 10.0
_log = structlog.get_logger("passend.gateway.unpublished")


async def waiting(conn: asyncpg.Connection, region: str) -> bool:
    """Whether earlier events of ``region`` wait for its topic (new ones queue behind)."""
    return bool(
        await conn.fetchval("SELECT 1 FROM unpublished_events WHERE region = $1 LIMIT 1", region)
    )


async def park(conn: asyncpg.Connection, region: str, event: CloudEvent) -> None:
    """Keep ``event`` (minimised) until ``region``'s topic exists."""
    await conn.execute(
        "INSERT INTO unpublished_events (event_id, region, event) VALUES ($1, $2, $3) "
        "ON CONFLICT (event_id, region) DO NOTHING",
        event.id,
        region,
        event.model_dump(mode="json"),
    )


async def send_waiting(pool: asyncpg.Pool, publisher: Publisher) -> int:
    """Send what waits, region by region in order; a region still without its topic keeps
    waiting. Returns how many were sent. At least once: a crash between the broker's
    acknowledgement and the delete sends one again (same id; receivers deduplicate)."""
    sent = 0
    regions = [
        r["region"] for r in await pool.fetch("SELECT DISTINCT region FROM unpublished_events")
    ]
    for region in regions:
        rows = await pool.fetch(
            "SELECT seq, event FROM unpublished_events WHERE region = $1 ORDER BY seq", region
        )
        for row in rows:
            event = CloudEvent.model_validate(_json(row["event"]))
            try:
                await publisher.publish(region, event)
            except RegionTopicMissing:
                break
            await pool.execute("DELETE FROM unpublished_events WHERE seq = $1", row["seq"])
            sent += 1
    return sent


def sender(publisher: Publisher) -> Callable[[ServiceContext, asyncio.Event], Awaitable[None]]:
    """The background task of the gateway that sends waiting events every few seconds."""

    async def run(ctx: ServiceContext, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await send_waiting(ctx.pool, publisher)
                if sent:
                    _log.info("unpublished_events_sent", sent=sent)
            except (OSError, asyncpg.PostgresError) as exc:
                _log.warning("unpublished_events_not_sent", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_SECONDS)

    run.__name__ = "send_unpublished_events"
    return run


async def unpublished_gauges(ctx: ServiceContext) -> Sequence[GaugeReading]:
    """How many events wait for a region's integration topic."""
    count = await ctx.pool.fetchval("SELECT count(*) FROM unpublished_events")
    return [
        GaugeReading(
            UNPUBLISHED_EVENTS,
            "Events waiting because their region's integration topic does not exist",
            float(count or 0),
        )
    ]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
