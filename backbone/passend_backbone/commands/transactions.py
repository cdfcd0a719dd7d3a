"""The unit of work a command runs in: a tenant's transaction, in PostgreSQL or in memory.

Everything a command writes (its events, its idempotency key's answer, the rows of its
side effects) goes into one transaction, so a crash leaves all of it or none. The
PostgreSQL twin is a row-level-security transaction of the caller's SWV
(:mod:`passend_backbone.tenancy`); the in-memory twin keeps an undo log, so a command
that raises halfway leaves the in-memory store and keys as they were, like a rollback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg

from passend_backbone import tenancy


class Transactions(Protocol):
    """Opens a tenant's transaction; what it yields is handed to the store and the keys."""

    def tenant(self, swv: str) -> AbstractAsyncContextManager[Any]:
        """A transaction that sees and writes only ``swv``'s rows; commits when the block
        ends without an exception, rolls back otherwise."""
        ...


class PostgresTransactions:
    """Tenant transactions on a pool (``passend_backbone.tenancy.tenant_transaction``)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def tenant(self, swv: str) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return tenancy.tenant_transaction(self.pool, swv)


class MemoryTx:
    """An in-memory transaction: what the in-memory adapters did, undone on rollback."""

    def __init__(self, swv: str | None = None) -> None:
        self.swv = swv
        self._undo: list[Callable[[], None]] = []
        self.after_commit: list[Callable[[], None]] = []

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Call ``undo`` if this transaction rolls back (last registered, first undone)."""
        self._undo.append(undo)

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def commit(self) -> None:
        self._undo.clear()
        for callback in self.after_commit:
            callback()
        self.after_commit.clear()


class MemoryTransactions:
    """The in-memory twin of :class:`PostgresTransactions`."""

    def __init__(self) -> None:
        self.committed = 0
        self.rolled_back = 0

    def tenant(self, swv: str) -> AbstractAsyncContextManager[MemoryTx]:
        if not swv:
            raise tenancy.NoTenant("a tenant transaction needs the caller's SWV")
        return self._transaction(swv)

    @contextlib.asynccontextmanager
    async def _transaction(self, swv: str | None) -> AsyncIterator[MemoryTx]:
        tx = MemoryTx(swv)
        try:
            yield tx
        except BaseException:
            tx.rollback()
            self.rolled_back += 1
            raise
        tx.commit()
        self.committed += 1

    def service(self) -> AbstractAsyncContextManager[MemoryTx]:
        """A transaction across tenants, as a consumer's (the service's own login) is."""
        return self._transaction(None)
