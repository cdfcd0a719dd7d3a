"""Held events are seen: a gauge counts them and their oldest age, and they are released."""

from __future__ import annotations

from uuid import uuid4

import asyncpg
import pytest

from passend_backbone.eventstore.store import PostgresEventStore
from passend_backbone.metrics import ServiceMetrics
from passend_backbone.service import ServiceContext
from passend_contracts import topics
from passend_devstack.infra import Broker
from passend_gateway.held import HELD_EVENTS, HELD_OLDEST_AGE, held_event_gauges
from tests.integration.gateway.kit import (
    publish,
    read_topic,
    running_gateway,
    settings_for,
    unique,
    wait_handled,
)
from tests.topics import on_broker
from tests.unit.gateway.factory import closed, envelope, escalated, later, submitted, youth_care

pytestmark = pytest.mark.integration


def gauge(text: str, name: str) -> float:
    """The value of the one series of ``name`` in a Prometheus exposition."""
    [line] = [ln for ln in text.splitlines() if ln.startswith(name + "{")]
    return float(line.rsplit(" ", 1)[1])


async def test_held_events_show_in_the_metric_and_are_released_when_the_region_is_named(
    db_url: str, broker: Broker
) -> None:
    case = uuid4()
    waiting = [
        envelope(p, at=later(i), version=i + 1)
        for i, p in enumerate((submitted(case), youth_care(case), closed(case)))
    ]
    await publish(broker, waiting)
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    try:
        ctx = ServiceContext(
            "gateway", settings_for(db_url, broker), pool, PostgresEventStore(pool, "/t")
        )
        metrics = ServiceMetrics("gateway")
        metrics.watch_gauges(ctx, [held_event_gauges])
        async with running_gateway(db_url, broker):
            await wait_handled(db_url, waiting)
            # Youth care and the closing are for the municipality; nobody named it yet.
            text = (await metrics.exposition()).decode()
            assert gauge(text, HELD_EVENTS) == 2
            assert gauge(text, HELD_OLDEST_AGE) > 0
            assert 'passend_metrics_source_up{service="gateway",source="service_gauges"} 1.0' in (
                text
            )

            region = unique("GM0622")
            named = [envelope(escalated(case, region, later(10)), at=later(10), version=4)]
            await publish(broker, named)
            await wait_handled(db_url, named)
            text = (await metrics.exposition()).decode()
            assert gauge(text, HELD_EVENTS) == 0
            assert gauge(text, HELD_OLDEST_AGE) == 0
            released = await read_topic(broker, on_broker(topics.integration(region)))
            assert [dict(r.headers)["ce_id"].decode() for r in released] == [
                str(waiting[1].id),
                str(waiting[2].id),
                str(named[0].id),
            ]
    finally:
        await pool.close()
