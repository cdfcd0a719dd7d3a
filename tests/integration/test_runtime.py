"""The runtime starts a service on real PostgreSQL and broker, answers health, and stops in time."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from structlog.testing import capture_logs

from passend_backbone.eventstore import Metadata, NewEvent, PostgresEventStore
from passend_backbone.health import Readiness
from passend_backbone.lifecycle import SHUTDOWN_SECONDS, serve
from passend_backbone.service import ServiceContext, ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from tests.integration.fake_service import SPEC
from tests.topics import apply_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = {name.upper() for name in ServiceSettings.model_fields}


def settings_for(db_url: str, broker: Broker, **overrides: object) -> ServiceSettings:
    auth = auth_env()
    values: dict[str, object] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": broker.bootstrap_servers,
        "kafka_broker_kind": broker.kind,
        "http_port": free_port(),
        "auth_issuer": auth["AUTH_ISSUER"],
        "auth_audience": auth["AUTH_AUDIENCE"],
        "auth_jwks": auth["AUTH_JWKS"],
        "kafka_topic_prefix": "",  # tests here name unique topics of their own (topic_name)
        **overrides,
    }
    return ServiceSettings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def running(
    spec: ServiceSpec, settings: ServiceSettings
) -> AsyncIterator[asyncio.Task[None]]:
    """The service running in a task until the block ends; then it must stop in time."""
    await apply_for(settings.kafka_bootstrap_servers, spec, prefix=settings.kafka_topic_prefix)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(spec, settings, stop, ready=ready))
    await eventually(
        lambda: _first_true(ready.is_set() or task.done()), timeout=30, what="service ready"
    )
    if task.done():
        await task  # raises why it didn't start
    try:
        yield task
    finally:
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)
        assert time.monotonic() - started < SHUTDOWN_SECONDS


async def _first_true(value: bool) -> bool:
    return value


async def test_ready_health_and_correlation_ids(db_url: str, broker: Broker) -> None:
    settings = settings_for(db_url, broker)
    base = f"http://127.0.0.1:{settings.http_port}"
    async with running(SPEC, settings), httpx.AsyncClient(base_url=base) as http:
        live = await http.get("/health/live")
        assert live.status_code == 200
        ready = await http.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "broker": "ok",
            "topics": "ok",
        }

        given = await http.get("/greetings", headers={"X-Correlation-ID": "corr-123"})
        assert given.json()["correlation_id"] == "corr-123"
        assert given.headers["X-Correlation-ID"] == "corr-123"
        made = await http.get("/greetings")
        assert made.headers["X-Correlation-ID"] == made.json()["correlation_id"]
        assert len(made.json()["correlation_id"]) == 36  # a fresh uuid
    words = await _greetings(db_url)
    assert words == ["started", "stopped"], "background work is asked to stop and finishes"


async def test_ready_turns_false_when_a_migration_is_pending(db_url: str, broker: Broker) -> None:
    settings = settings_for(db_url, broker)
    base = f"http://127.0.0.1:{settings.http_port}"
    async with running(SPEC, settings), httpx.AsyncClient(base_url=base) as http:
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute("DELETE FROM schema_migrations WHERE name = '001_greetings.sql'")
        finally:
            await conn.close()

        async def not_ready() -> httpx.Response | None:
            response = await http.get("/health/ready")
            return response if response.status_code == 503 else None

        response = await eventually(not_ready, what="/health/ready answering 503")
        assert "001_greetings.sql" in response.json()["checks"]["migrations"]


async def test_start_logs_the_delivery_settings_and_the_bound_port(
    db_url: str, broker: Broker
) -> None:
    settings = settings_for(db_url, broker, http_port=0)
    with capture_logs() as logs:
        async with running(SPEC, settings):
            pass
    delivery = next(e for e in logs if e["event"] == "delivery_settings")
    assert delivery["broker_kind"] == broker.kind
    assert delivery["producer_acks"] == "all"
    assert delivery["producer_idempotence"] is (broker.kind == "kafka")
    assert delivery["consumer_auto_commit"] is False
    listening = next(e for e in logs if e["event"] == "http_listening")
    assert listening["port"] > 0, "port 0 means any free port; the log says which"


async def test_a_busy_port_stops_the_start_with_a_message_naming_http_port(
    db_url: str, broker: Broker
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = settings_for(db_url, broker, http_port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="HTTP_PORT"):
            await asyncio.wait_for(serve(SPEC, settings, asyncio.Event()), 30)


async def test_a_crashing_background_task_stops_the_service(db_url: str, broker: Broker) -> None:
    async def crash(ctx: ServiceContext, stop: asyncio.Event) -> None:
        raise ValueError("scheduler broke")

    spec = dataclasses.replace(SPEC, background=(crash,))
    with pytest.raises(RuntimeError, match="scheduler broke"):
        await asyncio.wait_for(serve(spec, settings_for(db_url, broker), asyncio.Event()), 30)


async def test_republish_on_start_publishes_the_whole_store_again(
    db_url: str, broker: Broker, topic_name: str
) -> None:
    spec = dataclasses.replace(SPEC, topic=topic_name)
    settings = settings_for(db_url, broker)
    async with running(spec, settings):
        pool = await asyncpg.create_pool(db_url)
        try:
            store = PostgresEventStore(pool, "/passend/fake")
            meta = Metadata(swv="swv-1", actor="test", correlation_id="c", causation_id="c")
            await store.append("case-1", 0, [NewEvent("nl.passend.test.Happened.v1", {})], meta)
        finally:
            await pool.close()
        await eventually(lambda: _count(broker, topic_name, at_least=1), what="first publish")

    republish = settings.model_copy(update={"republish_on_start": True})
    async with running(spec, republish):
        await eventually(lambda: _count(broker, topic_name, at_least=2), what="republished")


async def _count(broker: Broker, topic: str, *, at_least: int) -> int | None:
    """The number of records on ``topic`` once it is at least ``at_least``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        seen = 0
        for _ in range(3):
            batch = await consumer.getmany(timeout_ms=300)
            seen += sum(len(records) for records in batch.values())
    finally:
        await consumer.stop()
    return seen if seen >= at_least else None


async def _greetings(db_url: str) -> list[str]:
    conn = await asyncpg.connect(db_url)
    try:
        return [r["word"] for r in await conn.fetch("SELECT word FROM greetings ORDER BY id")]
    finally:
        await conn.close()


async def test_readiness_reports_each_failing_probe_and_caches_its_answer() -> None:
    calls: list[str] = []

    async def fine() -> str | None:
        calls.append("fine")
        return None

    async def broken() -> str | None:
        raise ConnectionError("refused")

    async def hanging() -> str | None:
        await asyncio.Event().wait()
        return None

    readiness = Readiness(
        {"database": fine, "broker": broken, "migrations": hanging}, timeout=0.05, ttl=60
    )
    report = await readiness.check()
    assert not report.ready
    assert report.checks == {
        "database": "ok",
        "broker": "ConnectionError: refused",
        "migrations": "no answer within 0.05s",
    }
    await readiness.check()
    assert calls == ["fine"], "a second poll within the ttl runs no probe"
    readiness.draining = True
    assert (await readiness.check()).checks == {"service": "shutting down"}


def service_process(env: dict[str, str]) -> subprocess.Popen[str]:
    """``python -m`` the fake service with exactly ``env`` as its configuration."""
    base = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_VARIABLES}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.fake_service"],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_wrong_variable_stops_the_process_naming_it() -> None:
    process = service_process({"HTTP_PORT": "abc"})
    _, stderr = await asyncio.to_thread(process.communicate, timeout=30)
    assert process.returncode == 1
    assert "HTTP_PORT" in stderr
    assert "DATABASE_URL" in stderr, "a missing variable is named too"


async def test_sigterm_stops_the_process_cleanly_with_exit_code_0(
    db_url: str, broker: Broker
) -> None:
    port = free_port()
    settings = settings_for(db_url, broker, http_port=port)
    env = {
        name.upper(): str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in settings.model_dump().items()
    }
    await apply_for(settings.kafka_bootstrap_servers, SPEC, prefix="")
    process = service_process(env)
    try:

        async def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the service exited: {process.communicate()[1]}")
            try:
                async with httpx.AsyncClient() as http:
                    response = await http.get(f"http://127.0.0.1:{port}/health/ready")
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        await eventually(ready, timeout=30, what="the service process ready")
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = await asyncio.to_thread(process.communicate, timeout=SHUTDOWN_SECONDS + 5)
        assert time.monotonic() - started < SHUTDOWN_SECONDS
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert events.index("stop_requested") < events.index("shutdown_complete")
    assert "shutdown_step_cancelled" not in events, "every step finished in time"
