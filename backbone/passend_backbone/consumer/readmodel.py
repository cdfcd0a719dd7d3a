"""Querying a projection's read model: a read-only transaction on its active generation,
for the service itself or restricted to one tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from passend_backbone.consumer.schema import (
    active_generation,
    generation_schema,
    readers_lock_key,
    use_schema,
)
from passend_backbone.tenancy import enter_tenant


@asynccontextmanager
async def read_model(pool: asyncpg.Pool, projection_name: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a read-only snapshot transaction, ``search_path`` at the active generation.

    Use unqualified table names. Raises
    :class:`~passend_backbone.consumer.schema.ProjectionNotSetUp` when the projection has
    no read model in this database yet. A swap during the transaction doesn't disturb it:
    the old generation is dropped only after its readers finish.
    """
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        # Shared with every reader; the swap takes it exclusively before dropping the
        # old generation, so no reader loses its tables between lookup and query.
        await conn.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtext($1))",
            readers_lock_key(projection_name),
        )
        generation = await active_generation(conn, projection_name)
        await use_schema(conn, generation_schema(projection_name, generation))
        yield conn


@asynccontextmanager
async def tenant_read_model(
    pool: asyncpg.Pool, projection_name: str, swv: str
) -> AsyncIterator[asyncpg.Connection]:
    """:func:`read_model`, restricted to ``swv``."""
    async with read_model(pool, projection_name) as conn:
        await enter_tenant(conn, swv)
        yield conn
