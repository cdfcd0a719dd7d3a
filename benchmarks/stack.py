"""The infrastructure a benchmark run uses: PostgreSQL and a broker, embedded or from the env.

``DATABASE_URL`` (a server where the benchmark may create databases) and
``KAFKA_BOOTSTRAP_SERVERS`` (+ ``KAFKA_BROKER_KIND``) replace the embedded PostgreSQL and
the Tansu broker, exactly as for the test suite.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from passend_backbone import db
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_backbone.kafka_settings import BrokerKind
from passend_devstack.infra import (
    Broker,
    Database,
    broker_from_env,
    database_from_env,
    embedded_postgres,
    tansu_broker,
)


@dataclass(frozen=True)
class Stack:
    """A running PostgreSQL and broker, and a scratch directory for logs."""

    database: Database
    broker: Broker
    workdir: Path

    @property
    def kind(self) -> BrokerKind:
        return cast(BrokerKind, self.broker.kind)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap_servers

    async def new_database(self, prefix: str) -> str:
        """Create an empty database with a unique name; return its URL."""
        name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.database.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.database.url_for(name)

    async def drop_database(self, url: str) -> None:
        """Drop a database this run created (frees disk between stages)."""
        name = unquote(urlsplit(url).path.lstrip("/"))
        conn = await asyncpg.connect(self.database.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def new_store(
        self, prefix: str, *, max_size: int = 10, service_migrations: str | None = None
    ) -> tuple[str, asyncpg.Pool]:
        """A fresh database with the backbone's tables (events, outbox, consumers) and, when
        named, a service's own: its URL and a pool on it, made as the services make theirs."""
        url = await self.new_database(prefix)
        pool = await db.create_pool(url, min_size=1, max_size=max_size)
        packages = [BACKBONE_MIGRATIONS, *([service_migrations] if service_migrations else [])]
        await db.migrate(pool, packages)
        return url, pool


def new_topic(stage: str) -> str:
    """A topic name no earlier run used (an external broker keeps old topics)."""
    return f"bench.{stage}.{uuid.uuid4().hex[:10]}"


def libpq_params(url: str) -> dict[str, Any]:
    """libpq keywords (psycopg) for an asyncpg-style URL, Unix-socket ``?host=`` included."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = query.get("host") or parts.hostname or "localhost"
    return {
        "dbname": unquote(parts.path.lstrip("/")) or "postgres",
        "host": host,
        "port": int(query.get("port") or parts.port or 5432),
        "user": unquote(parts.username or "") or "postgres",
        "password": unquote(parts.password or ""),
    }


@contextlib.contextmanager
def open_stack() -> Iterator[Stack]:
    """The environment's PostgreSQL/broker, or embedded ones in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="passend-bench-") as tmp:
        workdir = Path(tmp)
        with contextlib.ExitStack() as stack:
            database = database_from_env() or stack.enter_context(
                embedded_postgres(workdir / "pgdata")
            )
            broker = broker_from_env() or stack.enter_context(
                tansu_broker(log=workdir / "tansu.log")
            )
            yield Stack(database, broker, workdir)
