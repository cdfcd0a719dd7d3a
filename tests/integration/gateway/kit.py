"""Helpers for the gateway and consumer kit tests: running the gateway, producing, reading."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from passend_backbone import kafka_io
from passend_backbone.kafka_settings import BrokerKind, producer_settings
from passend_backbone.lifecycle import SHUTDOWN_SECONDS, serve
from passend_backbone.settings import ServiceSettings
from passend_contracts import registry, topics
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from passend_gateway.config import GatewayConfig
from passend_gateway.service import build_spec
from tests.topics import on_broker


def settings_for(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings(
        database_url=db_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_broker_kind=broker.kind,
        http_port=free_port(),
        auth_issuer=auth["AUTH_ISSUER"],
        auth_audience=auth["AUTH_AUDIENCE"],
        auth_jwks=auth["AUTH_JWKS"],
    )


def unique(prefix: str) -> str:
    """A region no other test uses (tests share one broker and its topics): the CBS code
    ``prefix`` with a suffix, so each run reads topics of its own."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def running_gateway(
    db_url: str, broker: Broker, *, thin: bool = True
) -> AsyncIterator[asyncio.Task[None]]:
    """The gateway in a task, with a consumer group of its own, until the block ends."""
    config = GatewayConfig(
        name=unique("gateway").replace("-", "_"),
        thin_notifications=thin,
        trajectory_url="https://trajectory.example.nl",
    )
    spec = build_spec(settings_for(db_url, broker), config)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(spec, settings_for(db_url, broker), stop, ready=ready))

    async def started() -> bool:
        return ready.is_set() or task.done()

    await eventually(started, timeout=60, what="gateway ready")
    if task.done():
        await task  # raises why it didn't start
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)


async def publish(
    broker: Broker,
    events: Sequence[CloudEvent],
    *,
    thin: bool = True,
    region_topics: bool = True,
) -> None:
    """Publish ``events`` to their services' topics, as the outbox relays do.

    The integration topics of the municipalities the events name are made first, as the
    operator's topics step makes them for every municipality (the gateway never creates a
    topic); the thin ones too when ``thin``; none when not ``region_topics``.
    """
    await kafka_io.ensure_topics(broker.bootstrap_servers, [on_broker(t) for t in topics.ALL])
    named = sorted({str(e.data["municipality"]) for e in events if e.data.get("municipality")})
    integration = [on_broker(topics.integration(r)) for r in named]
    if thin:
        integration += [on_broker(topics.integration_thin(r)) for r in named]
    if integration and region_topics:
        await kafka_io.ensure_topics(broker.bootstrap_servers, integration)
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers, **producer_settings(kind)
    )
    await producer.start()
    try:
        for event in events:
            key, headers, value = event.to_kafka()
            topic = registry.EVENT_TYPES[event.type].topic
            await producer.send_and_wait(on_broker(topic), value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def wait_handled(db_url: str, events: Sequence[CloudEvent]) -> None:
    """Until the gateway marked every one of ``events`` handled (published or held)."""
    ids = [e.id for e in events]
    conn = await asyncpg.connect(db_url)
    try:

        async def all_handled() -> bool:
            exists = await conn.fetchval("SELECT to_regclass('public.reactor_handled') IS NOT NULL")
            if not exists:
                return False
            count = await conn.fetchval(
                "SELECT count(*) FROM reactor_handled WHERE event_id = ANY($1::uuid[])", ids
            )
            return bool(count == len(ids))

        await eventually(all_handled, timeout=60, what=f"{len(ids)} events handled by the gateway")
    finally:
        await conn.close()


async def read_topic(broker: Broker, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every record of ``topic`` from offset zero to the end (no consumer group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()  # a topic created after start
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while True:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
            # The fetch highwater, not end_offsets (wrong on Tansu).
            caught_up = [
                consumer.highwater(tp) is not None
                and await consumer.position(tp) >= (consumer.highwater(tp) or 0)
                for tp in tps
            ]
            if all(caught_up) and not batch:
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {topic} did not reach its end in {timeout}s")
    finally:
        await consumer.stop()


async def topic_exists(broker: Broker, topic: str) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    await consumer.start()
    try:
        return topic in await consumer.topics()
    finally:
        await consumer.stop()
