"""SIGTERM while events flow (consumer mid-batch, relay mid-publish) loses and doubles nothing.

The service under test ("ledger") runs as an OS process (``python -m`` this module): its
outbox relay publishes what the test appends to its store, and its projection counts the
events per case from its own topic, slowly, so batches are in flight when SIGTERM comes.
After each SIGTERM the process must exit 0 within the shutdown bound; after the last
restart the read model must hold exactly the store: every event counted once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import structlog
from fastapi import FastAPI

from passend_backbone import lifecycle
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.eventstore import Metadata, NewEvent, PostgresEventStore
from passend_backbone.lifecycle import SHUTDOWN_SECONDS
from passend_backbone.metrics import deadline_query
from passend_backbone.service import ServiceContext, ServiceSpec
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentRequested
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import CountingProjection, create_topic
from tests.topics import apply_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROJECTION = "case_counts"


class SlowCounting(CountingProjection):
    """The counting projection, taking ``delay`` seconds per event (a slow handler)."""

    def __init__(self, topic: str, delay: float) -> None:
        super().__init__(topic, PROJECTION)
        self.delay = delay

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # stands in for real work, not synchronisation
        await super().handle(conn, event, payload)


def create_app(ctx: ServiceContext) -> FastAPI:
    app = FastAPI(title="ledger")

    @app.get("/cases/{case_id}")
    async def case(case_id: str) -> dict[str, Any]:
        async with read_model(ctx.pool, PROJECTION) as conn:
            n = await conn.fetchval("SELECT n FROM counts WHERE case_id = $1", case_id)
        # What is bound to this request's log lines, for the tests to see.
        bound = structlog.contextvars.get_contextvars()
        return {"n": n or 0, "log_context": {k: str(v) for k, v in bound.items()}}

    return app


def ledger_spec(topic: str, handle_delay: float = 0.0) -> ServiceSpec:
    """A service whose projection counts ConsentRequested events per case on ``topic``."""
    return ServiceSpec(
        name="ledger",
        topic=topic,
        migrations="tests.integration.fake_service.migrations",
        create_app=create_app,
        projections=(SlowCounting(topic, handle_delay),),
        deadlines=(
            deadline_query(
                # $1 (now) unused: greetings have no time; a real deadline table compares it.
                "SELECT 'greeting', count(*) FILTER (WHERE word = 'started'), "
                "count(*) FILTER (WHERE word = 'stopped') FROM greetings "
                "WHERE $1::timestamptz IS NOT NULL"
            ),
        ),
    )


def consent_requested(case_id: uuid.UUID, requested_by: str = "ib-1") -> NewEvent:
    return NewEvent.of(
        ConsentRequested(case_id=case_id, requested_by=requested_by, requested_at=datetime.now(UTC))
    )


META = Metadata(swv="swv-test", actor="tester", correlation_id="corr-ops", causation_id="test")


def service_env(db_url: str, broker: Broker, port: int) -> dict[str, str]:
    return {
        **auth_env(),
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_BROKER_KIND": broker.kind,
        "KAFKA_TOPIC_PREFIX": "",  # the test names a unique topic of its own (topic_name)
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def ledger_process(
    env: dict[str, str], topic: str, delay: float, logs: list[str]
) -> AsyncIterator[subprocess.Popen[str]]:
    """The ledger service as a process; killed at the end if a test left it running."""
    settings = {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BROKER_KIND", "HTTP_PORT"}
    base = {k: v for k, v in os.environ.items() if k.upper() not in settings}
    await apply_for(env["KAFKA_BOOTSTRAP_SERVERS"], ledger_spec(topic), prefix="")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.test_operations_shutdown"],
        cwd=ROOT,
        env={
            **base,
            "PYTHONPATH": str(ROOT),
            **env,
            "LEDGER_TOPIC": topic,
            "LEDGER_HANDLE_DELAY": str(delay),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = await asyncio.to_thread(process.communicate)
        logs.append(stderr or "")


async def wait_ready(process: subprocess.Popen[str], port: int) -> None:
    async def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}")
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(f"http://127.0.0.1:{port}/health/ready")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    await eventually(ready, timeout=60, interval=0.1, what="the ledger service ready")


async def stored_per_case(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT stream_id, count(*) AS n FROM events GROUP BY stream_id")
    return {r["stream_id"]: int(r["n"]) for r in rows}


async def counted_per_case(pool: asyncpg.Pool) -> dict[str, int]:
    if not await pool.fetchval(
        "SELECT to_regclass('public.projection_generations') IS NOT NULL"
    ) or not await pool.fetchval(
        "SELECT count(*) FROM projection_generations WHERE projection = $1", PROJECTION
    ):
        return {}
    async with read_model(pool, PROJECTION) as conn:
        rows = await conn.fetch("SELECT case_id, n FROM counts")
    return {r["case_id"]: int(r["n"]) for r in rows}


class Writer:
    """Appends one event at a time to a few cases until stopped, as users would."""

    def __init__(self, pool: asyncpg.Pool, cases: int = 12) -> None:
        self.store = PostgresEventStore(pool, "/passend/ledger")
        self.cases = [uuid.uuid4() for _ in range(cases)]
        self.versions = dict.fromkeys(self.cases, 0)
        self.stop = asyncio.Event()

    async def run(self) -> None:
        turn = 0
        while not self.stop.is_set():
            case = self.cases[turn % len(self.cases)]
            await self.store.append(str(case), self.versions[case], [consent_requested(case)], META)
            self.versions[case] += 1
            turn += 1
            await asyncio.sleep(0.002)  # a steady rate, not a flood (this is no wait)


async def test_sigterm_during_a_batch_loses_nothing_and_doubles_nothing(
    db_url: str, pool: asyncpg.Pool, broker: Broker, topic_name: str, tmp_path: Path
) -> None:
    await create_topic(broker.bootstrap_servers, topic_name)
    port = free_port()
    env = service_env(db_url, broker, port)
    delay = 0.002  # a 500-record batch takes about a second: SIGTERM lands inside one
    logs: list[str] = []
    writer = Writer(pool)
    writing: asyncio.Task[None] | None = None
    try:
        for _cycle in range(3):
            async with ledger_process(env, topic_name, delay, logs) as process:
                await wait_ready(process, port)
                if writing is None:  # the store exists once the service migrated it
                    writing = asyncio.create_task(writer.run())
                before = sum((await counted_per_case(pool)).values())

                async def flowing(before: int = before, task: asyncio.Task[None] = writing) -> bool:
                    if task.done():
                        await task  # raises why the writer stopped
                    # Consumed since the start, and more stored than counted: work in flight.
                    counted = sum((await counted_per_case(pool)).values())
                    stored = sum((await stored_per_case(pool)).values())
                    return counted > before and stored > counted

                await eventually(flowing, timeout=60, what="events flowing through the service")
                process.send_signal(signal.SIGTERM)
                started = time.monotonic()
                code = await asyncio.to_thread(process.wait, SHUTDOWN_SECONDS + 10)
                took = time.monotonic() - started
            assert code == 0, logs[-1][-3000:]
            assert took < SHUTDOWN_SECONDS, f"shutdown took {took:.1f}s"
            events = [json.loads(x)["event"] for x in logs[-1].splitlines() if x.startswith("{")]
            assert "shutdown_complete" in events
            assert "shutdown_step_cancelled" not in events, "every step finished in time"
    finally:
        writer.stop.set()
        if writing is not None:
            await writing

    stored = await stored_per_case(pool)
    assert sum(stored.values()) > 100, "enough events flowed to make the test meaningful"
    async with ledger_process(env, topic_name, 0.0, logs) as process:
        await wait_ready(process, port)

        async def caught_up() -> bool:
            return await counted_per_case(pool) == stored

        try:
            await eventually(caught_up, timeout=90, interval=0.2, what="read model == store")
        except AssertionError:
            counted = await counted_per_case(pool)
            diff = {
                c: (stored.get(c), counted.get(c)) for c in stored if stored[c] != counted.get(c)
            }
            raise AssertionError(f"store vs read model differ per case: {diff}") from None
        checkpoint = await pool.fetchval(
            "SELECT position FROM outbox_checkpoint WHERE topic = $1", topic_name
        )
        assert checkpoint == await pool.fetchval("SELECT max(position) FROM events")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, SHUTDOWN_SECONDS + 10) == 0


if __name__ == "__main__":
    lifecycle.main(
        ledger_spec(os.environ["LEDGER_TOPIC"], float(os.environ.get("LEDGER_HANDLE_DELAY", "0")))
    )
