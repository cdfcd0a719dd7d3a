"""Topics are the operator's: applied once with history-keeping settings, checked by services
and rebuilds, never created by a service.

On the dev broker (Tansu 0.6) topic configs can be set at creation and described, so the
readiness refusal runs for real; it can neither alter configs nor delete records (its
DeleteRecords is unimplemented), so a log that no longer starts at offset 0 is shown with
a broker double behind :class:`~passend_backbone.topics.TopicInspector`, and for real when
``KAFKA_BOOTSTRAP_SERVERS`` points at Apache Kafka (``KAFKA_BROKER_KIND=kafka``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import cast

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete

from passend_backbone import topics
from passend_backbone.consumer.rebuild import HistoryLost, rebuild
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import migrate
from passend_backbone.kafka_settings import BrokerKind
from passend_backbone.lifecycle import SHUTDOWN_SECONDS, serve
from passend_backbone.settings import ServiceSettings
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    CountingProjection,
    consent_requested,
    counts,
    create_topic,
    produce,
)
from tests.integration.fake_service import SPEC
from tests.topics import on_broker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
A_WEEK_MS = str(7 * 24 * 3600 * 1000)


def settings_for(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings(
        database_url=db_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_broker_kind=cast(BrokerKind, broker.kind),
        http_port=free_port(),
        auth_issuer=auth["AUTH_ISSUER"],
        auth_audience=auth["AUTH_AUDIENCE"],
        auth_jwks=auth["AUTH_JWKS"],
    )


async def create_with(bootstrap: str, name: str, partitions: int, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
    finally:
        await admin.close()


async def test_apply_creates_the_whole_plan_once_with_history_kept(broker: Broker) -> None:
    prefix = f"apply{uuid.uuid4().hex[:6]}."
    wanted = topics.plan(topics.load_catalogue(), ["GM0622"], prefix)
    kafka = topics.KafkaTopics(broker.bootstrap_servers)
    assert await topics.check(kafka, wanted, topics.Durability()) != []

    first = await topics.apply(kafka, wanted, topics.Durability())
    assert first.ok, first.remaining
    assert sorted(first.created) == sorted(t.name for t in wanted)
    names = {t.name for t in wanted}
    assert prefix + "passend.intake.events" in names
    assert prefix + "passend.integration.gm0622.thin" in names
    assert prefix + "passend.intake.events.dlq.assignment.case_consent" in names

    described = await kafka.describe(sorted(names))
    for topic in wanted:
        state = described[topic.name]
        assert state is not None and state.partitions == topic.partitions
        assert state.configs["retention.ms"] == "-1"
    assert await topics.check(kafka, wanted, topics.Durability()) == []

    again = await topics.apply(kafka, wanted, topics.Durability())
    assert again.ok and again.created == () and again.configured == ()


async def test_a_service_refuses_readiness_on_a_topic_with_finite_retention(
    broker: Broker, db_url: str
) -> None:
    """The fake service's topic exists, but with the broker's usual week of retention."""
    spec = dataclasses.replace(SPEC, topic=f"passend.fake{uuid.uuid4().hex[:6]}.events")
    own = on_broker(spec.topic)
    await create_with(broker.bootstrap_servers, own, 4, {"retention.ms": A_WEEK_MS})
    settings = settings_for(db_url, broker)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(spec, settings, stop, ready=ready))
    try:
        await eventually(lambda: _true(ready.is_set() or task.done()), what="service started")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http_port}", timeout=5
        ) as http:
            answer = await http.get("/health/ready")
            assert answer.status_code == 503
            checks = answer.json()["checks"]
            assert checks["database"] == checks["broker"] == "ok"
            assert f"topic {own} has retention.ms={A_WEEK_MS}" in checks["topics"]
            assert "passend-ops topics apply" in checks["topics"]
            # Still refused a moment later: a failing check is repeated, never cached as ok.
            await asyncio.sleep(1.2)
            assert (await http.get("/health/ready")).status_code == 503
    finally:
        stop.set()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)


async def test_a_service_never_creates_its_topics_and_turns_ready_once_they_are_applied(
    broker: Broker, db_url: str
) -> None:
    spec = dataclasses.replace(SPEC, topic=f"passend.fake{uuid.uuid4().hex[:6]}.events")
    own = on_broker(spec.topic)
    settings = settings_for(db_url, broker)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(spec, settings, stop, ready=ready))
    try:
        await eventually(lambda: _true(ready.is_set() or task.done()), what="service started")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http_port}", timeout=5
        ) as http:
            answer = await http.get("/health/ready")
            assert answer.status_code == 503
            assert f"topic {own} does not exist" in answer.json()["checks"]["topics"]
            kafka = topics.KafkaTopics(broker.bootstrap_servers)
            assert (await kafka.describe([own]))[own] is None, "the service created nothing"

            wanted = topics.ServiceTopics.of_spec(spec).wanted(os.environ["KAFKA_TOPIC_PREFIX"])
            assert (await topics.apply(kafka, wanted, topics.Durability())).ok

            async def is_ready() -> bool:
                return (await http.get("/health/ready")).status_code == 200

            await eventually(is_ready, timeout=15, what="ready after topics apply")
    finally:
        stop.set()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)


async def test_republish_refuses_a_missing_topic_and_names_the_command(
    broker: Broker, db_url: str
) -> None:
    prefix = f"gone{uuid.uuid4().hex[:6]}."  # no topics step ran for this namespace
    settings = settings_for(db_url, broker)
    env = {
        **os.environ,
        **auth_env(),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_BROKER_KIND": settings.kafka_broker_kind,
        "KAFKA_TOPIC_PREFIX": prefix,
    }
    migrated = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.integration.fake_service", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrated.returncode == 0, migrated.stderr
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.integration.fake_service", "republish"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"topic {prefix}{SPEC.topic} does not exist" in result.stderr
    assert "passend-ops topics apply" in result.stderr
    kafka = topics.KafkaTopics(broker.bootstrap_servers)
    assert (await kafka.describe([prefix + SPEC.topic]))[prefix + SPEC.topic] is None


# -- a rebuild refuses to swap over lost history --------------------------------------------


class LogStartsDouble:
    """A broker double for the rebuild's check: the log starts it is told, call by call."""

    def __init__(self, *answers: Mapping[int, int]) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def describe(self, names: Sequence[str]) -> dict[str, topics.TopicState | None]:
        raise AssertionError("a rebuild only asks where the logs start")

    async def log_starts(self, names: Sequence[str]) -> dict[TopicPartition, int]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return {TopicPartition(n, p): start for n in names for p, start in answer.items()}


@pytest.fixture
async def counted(pool: asyncpg.Pool, broker: Broker, topic_name: str) -> AsyncIterator[str]:
    """A topic with events, applied by the live counting projection (generation 1)."""
    await migrate(pool, ["passend_backbone.migrations"])
    await create_topic(broker.bootstrap_servers, topic_name)
    live = Consumers(
        service="svc",
        pool=pool,
        bootstrap=broker.bootstrap_servers,
        kind=cast(BrokerKind, broker.kind),
        projections=[CountingProjection(topic_name)],
    )
    await live.start()
    try:
        events = [consent_requested(uuid.uuid4()) for _ in range(12)]
        await produce(broker.bootstrap_servers, broker.kind, topic_name, events)

        async def applied() -> bool:
            return sum((await counts(pool)).values()) == len(events)

        await eventually(applied, what="live applied")
        yield topic_name
    finally:
        await live.stop()


async def active_generation(pool: asyncpg.Pool) -> int:
    value = await pool.fetchval(
        "SELECT active FROM public.projection_generations WHERE projection = 'case_counts'"
    )
    return int(value)


async def test_a_rebuild_refuses_to_swap_when_a_log_no_longer_starts_at_offset_0(
    pool: asyncpg.Pool, broker: Broker, counted: str
) -> None:
    """The history goes missing while the rebuild reads: it reads all, then doesn't swap."""
    before = await counts(pool)
    double = LogStartsDouble({0: 0, 1: 0, 2: 0, 3: 0}, {0: 0, 1: 3, 2: 0, 3: 0})
    with pytest.raises(HistoryLost) as refused:
        await rebuild(
            service="svc",
            projection=CountingProjection(counted),
            pool=pool,
            bootstrap=broker.bootstrap_servers,
            kind=cast(BrokerKind, broker.kind),
            log_starts=double,
        )
    assert double.calls == 2, "checked before reading and again before the swap"
    message = str(refused.value)
    assert f"{counted}[1] starts at offset 3, not 0" in message
    assert "the active read model stays" in message
    assert await active_generation(pool) == 1
    assert await counts(pool) == before

    # With the history whole, the same rebuild swaps.
    report = await rebuild(
        service="svc",
        projection=CountingProjection(counted),
        pool=pool,
        bootstrap=broker.bootstrap_servers,
        kind=cast(BrokerKind, broker.kind),
        log_starts=LogStartsDouble({0: 0, 1: 0, 2: 0, 3: 0}),
    )
    assert report.new_generation == await active_generation(pool) > 1
    assert await counts(pool) == before


async def test_the_dev_broker_reports_every_log_starting_at_0(broker: Broker, counted: str) -> None:
    """The real check on the broker the suite runs on (Tansu keeps everything)."""
    starts = await topics.KafkaTopics(broker.bootstrap_servers).log_starts([counted])
    assert len(starts) == 4 and topics.lost_history(starts) == []


@pytest.mark.skipif(
    not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    or os.environ.get("KAFKA_BROKER_KIND", "kafka") != "kafka",
    reason="needs Apache Kafka (KAFKA_BOOTSTRAP_SERVERS, KAFKA_BROKER_KIND=kafka): the dev "
    "broker can't delete records, so its logs always start at offset 0",
)
async def test_on_apache_kafka_deleted_records_stop_the_rebuild(
    pool: asyncpg.Pool, broker: Broker, counted: str
) -> None:
    kafka = topics.KafkaTopics(broker.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(await kafka.log_starts([counted])))
    finally:
        await consumer.stop()
    partition = next(tp for tp, end in ends.items() if end > 0)
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_records({partition: RecordsToDelete(1)})
    finally:
        await admin.close()
    with pytest.raises(HistoryLost):
        await rebuild(
            service="svc",
            projection=CountingProjection(counted),
            pool=pool,
            bootstrap=broker.bootstrap_servers,
            kind="kafka",
        )
    assert await active_generation(pool) == 1

    # And a topic with Kafka's default retention is refused as a service's topic would be.
    plain = f"plain.{uuid.uuid4().hex[:8]}"
    await create_with(broker.bootstrap_servers, plain, 4, {})
    found = await topics.check(kafka, [topics.Topic(plain, 4, "events")], topics.Durability())
    assert any("retention.ms=604800000" in f for f in found)


async def _true(value: bool) -> bool:
    return value
