"""Real infrastructure for the suites, started once per session.

PostgreSQL: ``DATABASE_URL`` if set (must allow CREATE DATABASE), else an embedded server
in a temporary directory. Broker: ``KAFKA_BOOTSTRAP_SERVERS`` if set (``KAFKA_BROKER_KIND``
says kafka or tansu, default kafka), else a Tansu broker on a free port.
Each test that needs a database gets a fresh one, so tests don't see each other's rows.
"""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from passend_backbone import topics
from passend_devstack.infra import (
    Broker,
    Database,
    broker_from_env,
    database_from_env,
    embedded_postgres,
    tansu_broker,
)
from passend_devstack.test_tokens import auth_env

# Services under test trust this process's test issuer (passend_devstack.test_tokens). Set,
# not defaulted: a parallel worker inherits its parent's variables but mints with its own key.
for _name, _value in auth_env().items():
    os.environ[_name] = _value
# Intake seals pupils' keys under a key-encryption key (passend_backbone.sealing): one per
# test run, inherited by the services and parallel workers this process starts.
os.environ.setdefault(
    "INTAKE_KEY_ENCRYPTION_KEYS", f"test-run:{base64.b64encode(os.urandom(32)).decode()}"
)
# Every service seals free texts about a pupil with case keys sealed under this one.
os.environ.setdefault(
    "TEXT_KEY_ENCRYPTION_KEYS", f"test-run:{base64.b64encode(os.urandom(32)).decode()}"
)


@pytest.fixture(scope="module", autouse=True)
def topic_namespace() -> Iterator[str]:
    """Every test module's services name their topics with a prefix of the module's own.

    Tests share one broker (in parallel runs one per worker; against Apache Kafka one
    cluster): without it, a service started by one module would consume the events
    another module's services published. ``tests.topics.on_broker`` gives a topic's name
    as this module's services use it.
    """
    prefix = f"t{uuid.uuid4().hex[:8]}."
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KAFKA_TOPIC_PREFIX", prefix)
        yield prefix


# The municipalities whose integration topics the test topics step creates (the dev
# directory's; a test of another region creates its topics itself). Dev stacks started by
# tests create the same, not one pair per municipality of the country.
TEST_MUNICIPALITIES = ("GM0556", "GM0606", "GM0622")
os.environ.setdefault("KAFKA_INTEGRATION_MUNICIPALITIES", ",".join(TEST_MUNICIPALITIES))


@pytest.fixture(scope="module", autouse=True)
def module_topics(request: pytest.FixtureRequest, topic_namespace: str) -> None:
    """The operator's topics step for this module's namespace, before its services start.

    Services never create topics (``passend-ops topics apply`` does) and are not ready
    without them. Only modules whose tests use the broker get it, so the unit tests start
    no broker.
    """
    uses_broker = any(
        "broker" in getattr(item, "fixturenames", ())
        for item in request.session.items
        if getattr(item, "module", None) is request.module
    )
    if not uses_broker:
        return
    broker: Broker = request.getfixturevalue("broker")
    wanted = topics.plan(topics.load_catalogue(), TEST_MUNICIPALITIES, topic_namespace)
    report = asyncio.run(
        topics.apply(topics.KafkaTopics(broker.bootstrap_servers), wanted, topics.Durability())
    )
    assert report.ok, report.remaining


@pytest.fixture(scope="session")
def database() -> Iterator[Database]:
    external = database_from_env()
    if external:
        yield external
        return
    with (
        tempfile.TemporaryDirectory(prefix="passend-test-pg-") as tmp,
        embedded_postgres(Path(tmp) / "data") as db,
    ):
        yield db


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    external = broker_from_env()
    if external:
        yield external
        return
    with (
        tempfile.TemporaryDirectory(prefix="passend-test-broker-") as tmp,
        tansu_broker(log=Path(tmp) / "tansu.log") as b,
    ):
        yield b


async def create_database(database: Database, prefix: str = "t") -> str:
    """Create an empty database with a unique name; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(database.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database.url_for(name)


async def copy_database(database: Database, source: str, target: str) -> None:
    """A backup (or a restore) of a whole database: a copy made while nothing uses it."""
    admin = await asyncpg.connect(database.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        await admin.close()


@pytest.fixture
async def db_url(database: Database) -> str:
    """URL of a fresh, empty database for this test."""
    return await create_database(database)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(db_url, min_size=1, max_size=10)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
def topic_name() -> str:
    """A topic name no other test uses (tests share one broker)."""
    return f"test.{uuid.uuid4().hex[:10]}"
