"""The two twins of each port side by side: PostgreSQL and in memory, for the contract tests.

Each backend offers the port under test and what a test needs around it that the port
itself does not offer: a transaction of the caller's, a way to tamper with a stored
event, a place for the rows a command's ``after`` hook writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from passend_backbone.commands import (
    CommandPorts,
    MemoryIdempotency,
    MemoryTransactions,
    MemoryTx,
    PostgresIdempotency,
    PostgresTransactions,
)
from passend_backbone.eventstore import EventStore, PostgresEventStore, RecordedEvent
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_devstack.waiting import eventually

SOURCE = "/passend/test"


class Rollback(Exception):
    """Raised through a transaction to roll it back."""


@contextlib.asynccontextmanager
async def rolled_back(opening: AbstractAsyncContextManager[Any]) -> AsyncIterator[Any]:
    """The transaction ``opening`` opens, rolled back when the block ends (an exception
    raised through it, as a failing command's would be)."""
    try:
        async with opening as tx:
            yield tx
            raise Rollback
    except Rollback:
        pass


@dataclass
class StoreBackend:
    """An event store, a transaction to append in, and a tamperer."""

    name: str
    store: EventStore
    # A transaction of the caller's (a service's, across tenants): yields the ``conn``.
    transaction: Callable[[], AbstractAsyncContextManager[Any]]
    # Changes a stored event's data behind the store's back, as an attacker would.
    tamper: Callable[[RecordedEvent, dict[str, Any]], Awaitable[None]]


@dataclass
class CommandBackend:
    """The ports a command runs on, plus the test's view of what it left behind."""

    name: str
    ports: CommandPorts
    # The consumer's transaction a reactor decides in (the service's own, across tenants).
    consumer_transaction: Callable[[], AbstractAsyncContextManager[Any]]
    # Writes one side-effect row inside ``tx`` (what an ``after`` hook does).
    write_side_effect: Callable[[Any, str, int], Awaitable[None]]
    # The committed side-effect rows, as (stream id, version).
    side_effects: Callable[[], Awaitable[list[tuple[str, int]]]]
    # Returns once ``task`` waits for another transaction (a row lock, an open claim).
    blocked: Callable[[asyncio.Task[Any]], Awaitable[None]]


# -- PostgreSQL --------------------------------------------------------------------------


def pool_transaction(pool: asyncpg.Pool) -> Callable[[], AbstractAsyncContextManager[Any]]:
    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[asyncpg.Connection]:
        async with pool.acquire() as conn, conn.transaction():
            yield conn

    return transaction


def postgres_store(pool: asyncpg.Pool) -> StoreBackend:
    async def tamper(event: RecordedEvent, data: dict[str, Any]) -> None:
        # The table refuses UPDATE by trigger: an attacker with database access switches
        # the guard off first.
        async with pool.acquire() as conn:
            await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only_rows")
            await conn.execute(
                "UPDATE events SET data = $1::json WHERE event_id = $2",
                _json(data),
                event.event_id,
            )
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only_rows")

    return StoreBackend(
        "postgres", PostgresEventStore(pool, SOURCE), pool_transaction(pool), tamper
    )


SIDE_EFFECTS_SQL = """
CREATE TABLE side_effects (swv text NOT NULL, stream_id text NOT NULL, version int NOT NULL);
SELECT passend_protect_tenant_table('side_effects');
"""


async def postgres_commands(pool: asyncpg.Pool) -> CommandBackend:
    """The ports on ``pool``, whose database has the backbone's migrations.

    Its tables are put under row-level security as a service's tenancy migration does,
    so commands run as the tenant (``passend_app``), as they do in every service.
    """
    await pool.execute("SELECT passend_protect_tenant_tables()")
    await pool.execute(SIDE_EFFECTS_SQL)

    async def write_side_effect(tx: asyncpg.Connection, stream_id: str, version: int) -> None:
        await tx.execute(
            "INSERT INTO side_effects (swv, stream_id, version) "
            "VALUES (current_setting('passend.swv'), $1, $2)",
            stream_id,
            version,
        )

    async def side_effects() -> list[tuple[str, int]]:
        rows = await pool.fetch("SELECT stream_id, version FROM side_effects ORDER BY version")
        return [(r["stream_id"], r["version"]) for r in rows]

    async def blocked(task: asyncio.Task[Any]) -> None:
        await eventually(lambda: _waiting_on_a_lock(pool), what="a transaction to wait")
        assert not task.done()

    return CommandBackend(
        "postgres",
        CommandPorts(
            PostgresEventStore(pool, SOURCE), PostgresTransactions(pool), PostgresIdempotency()
        ),
        pool_transaction(pool),
        write_side_effect,
        side_effects,
        blocked,
    )


async def _waiting_on_a_lock(pool: asyncpg.Pool) -> bool:
    waiting: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return waiting > 0


def _json(data: dict[str, Any]) -> str:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


# -- in memory ---------------------------------------------------------------------------


def memory_store() -> StoreBackend:
    store = InMemoryEventStore(SOURCE)
    transactions = MemoryTransactions()

    async def tamper(event: RecordedEvent, data: dict[str, Any]) -> None:
        store.tamper(event.event_id, data=data)

    return StoreBackend("memory", store, lambda: transactions.tenant("swv"), tamper)


def memory_commands() -> CommandBackend:
    transactions = MemoryTransactions()
    committed: list[tuple[str, int]] = []

    async def write_side_effect(tx: MemoryTx, stream_id: str, version: int) -> None:
        row = (stream_id, version)
        committed.append(row)
        tx.on_rollback(lambda: committed.remove(row))

    async def side_effects() -> list[tuple[str, int]]:
        return sorted(committed, key=lambda row: row[1])

    async def blocked(task: asyncio.Task[Any]) -> None:
        for _ in range(10):  # let it run until it waits on the open claim
            await asyncio.sleep(0)
        assert not task.done()

    return CommandBackend(
        "memory",
        CommandPorts(InMemoryEventStore(SOURCE), transactions, MemoryIdempotency()),
        transactions.service,
        write_side_effect,
        side_effects,
        blocked,
    )
