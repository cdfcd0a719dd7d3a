"""One running trajectory service per test module, on its own database and the session broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from passend_backbone.consumer.inline import InlineProjections
from passend_backbone.eventstore import EventStore
from passend_devstack.infra import Broker, Database
from passend_trajectory.service import build_spec
from tests.conftest import create_database
from tests.integration.trajectory.kit import Clock, migrated_store, running, settings_for


@dataclass
class Service:
    url: str
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    store: EventStore
    clock: Clock


@pytest.fixture(scope="module")
async def service(database: Database, broker: Broker) -> AsyncIterator[Service]:
    db_url = await create_database(database, prefix="trajectory")
    clock = Clock()
    pool, store = await migrated_store(db_url)
    spec = build_spec(clock=clock, reminder_poll_seconds=0.2)
    # The tests' reactions append as the service's do: its own events in its own read
    # models in the same transaction (the service's own topic is read lazily).
    inline = InlineProjections(spec.projections, spec.topic, store.source)
    store.apply_in_transaction(inline.apply)
    try:
        async with (
            running(spec, settings_for(db_url, broker), clock) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            yield Service(url, http, pool, store, clock)
    finally:
        await pool.close()
