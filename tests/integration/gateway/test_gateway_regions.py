"""The gateway gives each region only its own cases' allowed fields; unknown regions are held."""

from __future__ import annotations

import json
from uuid import uuid4

import asyncpg
import pytest

from passend_contracts import registry, topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_gateway.__main__ import forget_published
from passend_gateway.policy import MUNICIPALITY
from tests.integration.gateway.kit import (
    publish,
    read_topic,
    running_gateway,
    topic_exists,
    unique,
    wait_handled,
)
from tests.topics import on_broker
from tests.unit.gateway.factory import (
    claimed,
    closed,
    decided,
    envelope,
    escalated,
    later,
    submitted,
    youth_care,
)

pytestmark = pytest.mark.integration


def events_of(*payloads: EventPayload) -> list[CloudEvent]:
    return [envelope(p, at=later(i), version=i + 1) for i, p in enumerate(payloads)]


async def test_region_b_never_reaches_region_a_and_unknown_regions_are_held(
    db_url: str, broker: Broker
) -> None:
    region_a, region_b = unique("GM0622"), unique("GM0606")
    a1, a2, b1, nowhere = uuid4(), uuid4(), uuid4(), uuid4()
    esc_a1, esc_b1 = escalated(a1, region_a), escalated(b1, region_b)
    a1_events = events_of(
        submitted(a1),
        claimed(a1),
        youth_care(a1),
        esc_a1,
        decided(a1, esc_a1.escalation_id),
        closed(a1),
    )
    a2_events = events_of(escalated(a2, region_a))
    b1_events = events_of(
        submitted(b1), youth_care(b1), esc_b1, decided(b1, esc_b1.escalation_id), closed(b1)
    )
    nowhere_events = events_of(submitted(nowhere), youth_care(nowhere))
    everything = a1_events + a2_events + b1_events + nowhere_events
    await publish(broker, everything)

    async with running_gateway(db_url, broker):
        await wait_handled(db_url, everything)
        a_records = await read_topic(broker, on_broker(topics.integration(region_a)))
        b_records = await read_topic(broker, on_broker(topics.integration(region_b)))
        a_thin = await read_topic(broker, on_broker(topics.integration_thin(region_a)))

        a_seen = [CloudEvent.from_kafka(r.headers, r.value) for r in a_records]
        # Only region A's cases, only the allowed types, each event once, in case order.
        assert {e.subject for e in a_seen} == {str(a1), str(a2)}
        allowed = [e.id for e in a1_events + a2_events if e.type in MUNICIPALITY.fields]
        assert sorted(e.id for e in a_seen) == sorted(allowed)
        assert [e.id for e in a_seen if e.subject == str(a1)] == [
            e.id for e in a1_events if e.type in MUNICIPALITY.fields
        ]
        for event in a_seen:
            assert set(event.data) <= MUNICIPALITY.fields[event.type]
            assert event.actor == "/passend/trajectory" and event.onbehalfof is None
            registry.parse(event)  # still a valid event of its contract
            if "municipality" in event.data:
                assert event.data["municipality"] == region_a

        b_seen = [CloudEvent.from_kafka(r.headers, r.value) for r in b_records]
        assert {e.subject for e in b_seen} == {str(b1)}
        assert len(b_seen) == 4  # youth care (released), escalation, decision, closing

        thin = [json.loads(r.value) for r in a_thin]
        assert len(thin) == len(a_seen)
        assert {t["hoofdObject"] for t in thin} == {
            f"https://trajectory.example.nl/cases/{case}/trajectory" for case in (a1, a2)
        }
        assert sorted(dict(r.headers)["notification-id"].decode() for r in a_thin) == sorted(
            str(e.id) for e in a_seen
        )

        # The case nobody named a municipality for: held, published nowhere.
        conn = await asyncpg.connect(db_url)
        try:
            held = await conn.fetch("SELECT event_id FROM held_events WHERE case_id = $1", nowhere)
            assert [r["event_id"] for r in held] == [nowhere_events[1].id]
        finally:
            await conn.close()
        assert not await topic_exists(broker, on_broker(topics.integration(unique("nowhere"))))

        # Once an escalation names its municipality, the held event goes there first.
        late = events_of(escalated(nowhere, region_a, later(30)))
        await publish(broker, late)
        await wait_handled(db_url, late)
        a_after = [
            CloudEvent.from_kafka(r.headers, r.value)
            for r in await read_topic(broker, on_broker(topics.integration(region_a)))
        ]
        assert len(a_after) == len(a_seen) + 2
        assert [e.id for e in a_after if e.subject == str(nowhere)] == [
            nowhere_events[1].id,
            late[0].id,
        ]
        b_after = await read_topic(broker, on_broker(topics.integration(region_b)))
        assert len(b_after) == len(b_records)
        conn = await asyncpg.connect(db_url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM held_events") == 0
        finally:
            await conn.close()


async def test_after_a_broker_loss_the_gateway_publishes_everything_again(
    db_url: str, broker: Broker
) -> None:
    region = unique("GM0556")
    case = uuid4()
    events = events_of(youth_care(case), escalated(case, region))
    await publish(broker, events, thin=False)
    async with running_gateway(db_url, broker, thin=False):
        await wait_handled(db_url, events)
    assert len(await read_topic(broker, on_broker(topics.integration(region)))) == 2

    # A new consumer group reads the sources again, like after a broker lost its topics;
    # the handled marks alone would make it skip them, so REPUBLISH_ON_START forgets them.
    await forget_published(db_url)
    async with running_gateway(db_url, broker, thin=False):
        await wait_handled(db_url, events)
        records = await read_topic(broker, on_broker(topics.integration(region)))
    ids = [CloudEvent.from_kafka(r.headers, r.value).id for r in records]
    assert sorted(ids) == sorted([e.id for e in events] * 2)  # same ids: receivers dedupe
    assert not await topic_exists(broker, on_broker(topics.integration_thin(region)))
