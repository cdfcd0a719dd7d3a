"""Each contract test runs once per implementation: PostgreSQL and the in-memory twin.

The PostgreSQL runs are marked ``integration`` (they get a fresh database of the session's
server); the in-memory runs need nothing and take milliseconds.
"""

from __future__ import annotations

import asyncpg
import pytest

from passend_backbone.db import BACKBONE_MIGRATIONS, migrate
from passend_contracts import registry
from tests.contracts.backends import (
    CommandBackend,
    StoreBackend,
    memory_commands,
    memory_store,
    postgres_commands,
    postgres_store,
)
from tests.contracts.counter import Counted, Decisions

IMPLEMENTATIONS = [pytest.param("postgres", marks=pytest.mark.integration), "memory"]


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def migrated(pool: asyncpg.Pool) -> asyncpg.Pool:
    await migrate(pool, [BACKBONE_MIGRATIONS])
    return pool


@pytest.fixture
def pg(request: pytest.FixtureRequest, implementation: str) -> asyncpg.Pool | None:
    """A migrated database for the PostgreSQL runs only (the memory runs start none)."""
    if implementation != "postgres":
        return None
    pool: asyncpg.Pool = request.getfixturevalue("migrated")
    return pool


@pytest.fixture
def backend(pg: asyncpg.Pool | None) -> StoreBackend:
    return memory_store() if pg is None else postgres_store(pg)


@pytest.fixture
async def commands(pg: asyncpg.Pool | None) -> CommandBackend:
    return memory_commands() if pg is None else await postgres_commands(pg)


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> Decisions:
    """A counter decider; its events known to the registry for the test's length."""
    monkeypatch.setitem(registry.EVENT_TYPES, Counted.event_type, Counted)
    return Decisions([])
