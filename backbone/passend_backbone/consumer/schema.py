"""The consumer runner's own tables and the per-generation read-model schemas.

``public.projection_generations`` names each projection's active generation and
``public.reactor_handled`` holds the events each reactor handled; the backbone migrations
(``passend_backbone.migrations``) create both.

A projection's generation ``g`` lives in schema ``rm_<projection>_<g>``, next to two
bookkeeping tables of the runner: ``handled`` (event ids applied to this generation) and
``consumed`` (per topic partition, the next offset to apply; a rebuild resumes from it
and the swap waits until the new generation has caught up with the old one's).
"""

from __future__ import annotations

import re

import asyncpg

from passend_backbone.consumer.kinds import Projection

# Projection tables must not use these names: they hold the runner's bookkeeping.
RESERVED_TABLES = ("handled", "consumed")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

_GENERATION_TABLES = """
CREATE TABLE handled (event_id uuid PRIMARY KEY);
CREATE TABLE consumed (
    topic text NOT NULL,
    partition int NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""


class ProjectionNotSetUp(LookupError):
    """The projection has no active generation in this database."""

    def __init__(self, projection: str) -> None:
        super().__init__(
            f"projection {projection!r} has no read model in this database yet: start the "
            "service's consumer runner (it creates the first generation) before querying it"
        )
        self.projection = projection


def check_name(name: str) -> str:
    """``name`` if it can be part of a schema name and a consumer group id, else ValueError."""
    if not _NAME.match(name):
        raise ValueError(
            f"consumer name {name!r} must be lower-case letters, digits and underscores, "
            "starting with a letter, at most 40 characters (it becomes part of a schema name)"
        )
    return name


def generation_schema(projection: str, generation: int) -> str:
    """The schema holding ``projection``'s tables of ``generation`` (a safe identifier)."""
    return f"rm_{check_name(projection)}_{int(generation)}"


def _lock_key(projection: str) -> str:
    return f"passend.projection.{projection}"


def readers_lock_key(projection: str) -> str:
    """Advisory-lock key readers hold shared and the swap takes exclusively to drop."""
    return f"passend.projection-readers.{projection}"


class ConsumerTablesMissing(RuntimeError):
    """The backbone migrations have not run on this database."""


async def check_consumer_tables(conn: asyncpg.Connection) -> None:
    """Raise :class:`ConsumerTablesMissing` unless the backbone migrations created our tables."""
    missing = await conn.fetchval(
        "SELECT array_remove(ARRAY["
        "CASE WHEN to_regclass('public.projection_generations') IS NULL "
        "THEN 'projection_generations' END, "
        "CASE WHEN to_regclass('public.reactor_handled') IS NULL "
        "THEN 'reactor_handled' END, "
        "CASE WHEN to_regclass('public.loop_members') IS NULL "
        "THEN 'loop_members' END], NULL)"
    )
    if missing:
        raise ConsumerTablesMissing(
            f"tables {', '.join(missing)} are missing: apply the backbone migrations "
            "(passend_backbone.db.migrate(pool, ['passend_backbone.migrations'])) before "
            "starting consumers"
        )


async def lock_projection(conn: asyncpg.Connection, projection: str) -> None:
    """Serialise setup, rebuild and swap of one projection (until the transaction ends)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _lock_key(projection))


async def create_generation(
    conn: asyncpg.Connection, projection: Projection, generation: int
) -> str:
    """Create ``generation``'s schema with the bookkeeping and projection tables; return it.

    Runs inside the caller's transaction; leaves ``search_path`` at the new schema.
    """
    schema = generation_schema(projection.name, generation)
    await conn.execute(f"CREATE SCHEMA {schema}")
    await use_schema(conn, schema)
    await conn.execute(_GENERATION_TABLES)
    await projection.setup(conn)
    return schema


async def use_schema(conn: asyncpg.Connection, schema: str) -> None:
    """Point unqualified names at ``schema`` for the rest of the open transaction."""
    await conn.execute(f"SET LOCAL search_path TO {schema}, public")


async def ensure_projection(pool: asyncpg.Pool, projection: Projection) -> int:
    """Create generation 1 of ``projection`` unless it has one; return the active generation."""
    async with pool.acquire() as conn:
        await check_consumer_tables(conn)
        async with conn.transaction():
            await lock_projection(conn, projection.name)
            active: int | None = await conn.fetchval(
                "SELECT active FROM public.projection_generations WHERE projection = $1",
                projection.name,
            )
            if active is not None:
                return active
            await create_generation(conn, projection, 1)
            await conn.execute(
                "INSERT INTO public.projection_generations (projection, active) VALUES ($1, 1)",
                projection.name,
            )
            return 1


async def active_generation(conn: asyncpg.Connection, projection: str) -> int:
    """The active generation; raises :class:`ProjectionNotSetUp` when there is none."""
    try:
        active: int | None = await conn.fetchval(
            "SELECT active FROM public.projection_generations WHERE projection = $1",
            projection,
        )
    except asyncpg.UndefinedTableError:
        raise ProjectionNotSetUp(projection) from None
    if active is None:
        raise ProjectionNotSetUp(projection)
    return active
