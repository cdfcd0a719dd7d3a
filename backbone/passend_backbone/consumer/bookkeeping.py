"""Where consumers keep their transactions and the reactors' handled marks.

In PostgreSQL a consumer's transaction is the service's own (across tenants) and a
reactor's handled event ids are rows of ``public.reactor_handled``, written in the same
transaction as the events the reactor appends. The in-memory twin keeps the marks in a
set that a rolled-back transaction undoes, for reactor tests without a database.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from passend_backbone.commands.transactions import MemoryTransactions, MemoryTx


class Bookkeeping(Protocol):
    """The consumers' transactions and the reactors' handled marks."""

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """A transaction of the service (across tenants), committed when the block ends."""
        ...

    async def new_for_reactor(self, tx: Any, reactor: str, ids: list[UUID]) -> set[UUID]:
        """Mark ``ids`` handled by ``reactor``; return those not marked before."""
        ...


class PostgresBookkeeping:
    """Transactions on the service's pool; marks in ``public.reactor_handled``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def transaction(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return _pool_transaction(self.pool)

    async def new_for_reactor(
        self, tx: asyncpg.Connection, reactor: str, ids: list[UUID]
    ) -> set[UUID]:
        rows = await tx.fetch(
            "INSERT INTO public.reactor_handled (reactor, event_id) "
            "SELECT $2, unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
            ids,
            reactor,
        )
        return {row["event_id"] for row in rows}


@contextlib.asynccontextmanager
async def _pool_transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as conn, conn.transaction():
        yield conn


class MemoryBookkeeping:
    """The in-memory twin: marks in a set, undone when the transaction rolls back."""

    def __init__(self, transactions: MemoryTransactions | None = None) -> None:
        self.transactions = transactions or MemoryTransactions()
        self.handled: set[tuple[str, UUID]] = set()

    def transaction(self) -> AbstractAsyncContextManager[MemoryTx]:
        return self.transactions.service()

    async def new_for_reactor(self, tx: MemoryTx, reactor: str, ids: list[UUID]) -> set[UUID]:
        new = {i for i in ids if (reactor, i) not in self.handled}
        marks = {(reactor, i) for i in new}
        self.handled |= marks
        tx.on_rollback(lambda: self.handled.difference_update(marks))
        return new
