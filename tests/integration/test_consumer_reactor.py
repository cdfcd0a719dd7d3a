"""A reactor appends its deterministic-id reaction once, however often its cause is delivered."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import migrate
from passend_backbone.eventstore import EventStore, Metadata, NewEvent, PostgresEventStore
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    committed_total,
    consent_requested,
    create_topic,
    produce,
)

pytestmark = pytest.mark.integration


class Acknowledger:
    """Appends one ``Acknowledged`` event per consumed event to the case's own stream."""

    name = "acknowledger"

    def __init__(self, topic: str) -> None:
        self.topics: tuple[str, ...] = (topic,)
        self.calls = 0

    async def react(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload, store: EventStore
    ) -> None:
        self.calls += 1
        stream = f"ack-{event.subject}"
        version = len(await store.read_stream(stream, conn=conn))
        await store.append(
            stream,
            version,
            [
                NewEvent(
                    event_type="nl.passend.test.Acknowledged.v1",
                    data={"cause": str(event.id)},
                    event_id=reaction_id(self.name, event.id),
                )
            ],
            Metadata(
                swv=event.swv,
                actor="service:test",
                correlation_id=event.correlationid,
                causation_id=str(event.id),
            ),
            conn=conn,
        )


async def run_until_consumed(
    pool: asyncpg.Pool, broker: Broker, topic: str, service: str, reactor: Acknowledger, n: int
) -> None:
    runner = Consumers(
        service=service,
        pool=pool,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
        reactors=[reactor],
        store=PostgresEventStore(pool, "/passend/test"),
    )
    await runner.start()
    try:

        async def consumed() -> bool:
            group = f"{service}.live"  # the service's fetch loop
            return await committed_total(broker.bootstrap_servers, group, topic) == n

        await eventually(consumed, what=f"{service} consumed {n}")
    finally:
        await runner.stop()


async def test_a_redelivered_cause_appends_its_reaction_once(
    pool: asyncpg.Pool, broker: Broker, topic_name: str
) -> None:
    await migrate(pool, ["passend_backbone.migrations"])
    await create_topic(broker.bootstrap_servers, topic_name)
    causes = [consent_requested(uuid.uuid4()) for _ in range(3)]
    await produce(broker.bootstrap_servers, broker.kind, topic_name, causes)

    first = Acknowledger(topic_name)
    await run_until_consumed(pool, broker, topic_name, "one", first, len(causes))
    assert first.calls == 3
    ids = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM events")}
    assert ids == {reaction_id("acknowledger", c.id) for c in causes}

    # Redelivered to a new group: the handled marks skip the reactor entirely.
    again = Acknowledger(topic_name)
    await run_until_consumed(pool, broker, topic_name, "two", again, len(causes))
    assert again.calls == 0

    # Even if the marks were lost, the deterministic ids make the store append nothing.
    await pool.execute("DELETE FROM reactor_handled")
    third = Acknowledger(topic_name)
    await run_until_consumed(pool, broker, topic_name, "three", third, len(causes))
    assert third.calls == 3
    assert await pool.fetchval("SELECT count(*) FROM events") == 3
    assert await pool.fetchval("SELECT count(*) FROM reactor_handled") == 3
