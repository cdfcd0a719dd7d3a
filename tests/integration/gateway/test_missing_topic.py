"""The gateway never creates a topic (issue 25): a region whose integration topic is missing
waits, in order, without stalling the others, and is sent once the operator made it."""

from __future__ import annotations

from uuid import uuid4

import asyncpg
import pytest

from passend_backbone import kafka_io
from passend_contracts import topics
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.gateway.kit import (
    publish,
    read_topic,
    running_gateway,
    topic_exists,
    unique,
    wait_handled,
)
from tests.integration.gateway.test_gateway_regions import events_of
from tests.topics import on_broker
from tests.unit.gateway.factory import escalated, youth_care

pytestmark = pytest.mark.integration


async def test_a_missing_region_topic_waits_and_the_other_regions_go_on(
    db_url: str, broker: Broker
) -> None:
    made, missing = unique("GM0622"), unique("GM0606")
    case_made, case_missing = uuid4(), uuid4()
    waiting = events_of(youth_care(case_missing), escalated(case_missing, missing))
    going = events_of(youth_care(case_made), escalated(case_made, made))
    await publish(broker, going, thin=False)  # the operator made this region's topic only
    await publish(broker, waiting, thin=False, region_topics=False)

    async with running_gateway(db_url, broker, thin=False):
        await wait_handled(db_url, waiting + going)
        assert len(await read_topic(broker, on_broker(topics.integration(made)))) == 2
        assert not await topic_exists(broker, on_broker(topics.integration(missing)))
        conn = await asyncpg.connect(db_url)
        try:
            parked = await conn.fetch(
                "SELECT region, event->>'id' AS id FROM unpublished_events ORDER BY seq"
            )
            assert {topics.integration(r["region"]) for r in parked} == {
                topics.integration(missing)
            }
            assert [r["id"] for r in parked] == [str(e.id) for e in waiting]

            # The operator's topics step makes the topic: the waiting events go, in order.
            await kafka_io.ensure_topics(
                broker.bootstrap_servers, [on_broker(topics.integration(missing))]
            )

            async def sent() -> list[str] | None:
                records = await read_topic(broker, on_broker(topics.integration(missing)))
                ids = [dict(r.headers)["ce_id"].decode() for r in records]
                return ids if len(ids) == 2 else None

            assert await eventually(sent, timeout=60, what="waiting events sent") == [
                str(e.id) for e in waiting
            ]
            assert await conn.fetchval("SELECT count(*) FROM unpublished_events") == 0
        finally:
            await conn.close()
