"""Connection pools and numbered SQL migrations for a service's own database."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import asyncpg

# The backbone's own tables (events, outbox position, consumer bookkeeping, idempotency
# keys), migrated before a service's own.
BACKBONE_MIGRATIONS = "passend_backbone.migrations"

_MIGRATION_FILE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# One fixed key for every starter of every service: migrations of one database never run
# twice at once, even when several processes start together.
_MIGRATION_LOCK = 0x5041_5353_4D49_4752  # "PASSMIGR"

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    package    text        NOT NULL,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (package, name)
)
"""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Reset on release: nothing beyond what asyncpg always does (roll back an open
    transaction, drop listener callbacks).

    asyncpg's default reset costs a round trip per release (advisory unlock, ``CLOSE ALL``,
    ``UNLISTEN *``, ``RESET ALL``), about a third of the work of a one-event append. Nothing
    here keeps session state across a release: settings are ``SET LOCAL`` or
    ``set_config(..., true)``, cursors live in transactions, and the two session advisory
    locks (migrations, rebuilds) are released in ``finally`` by their holders.
    """


async def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """An asyncpg pool whose json/jsonb values are Python dicts/lists in both directions.

    JIT compilation is off for its sessions: the statements here are short, and the JIT
    made each new connection's first statement (asyncpg's type introspection) take
    100-200 ms instead of a few.
    """
    kwargs.setdefault("reset", _keep_session)
    kwargs["server_settings"] = {"jit": "off", **kwargs.get("server_settings", {})}
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs
    )


def migration_files(package: str) -> list[tuple[str, str]]:
    """``(name, sql)`` of the numbered ``NNN_name.sql`` files in ``package``, in order.

    A misnamed ``.sql`` file, or two files with the same number (the order would then
    depend on names), are refused.
    """
    found: dict[str, tuple[str, str]] = {}
    for entry in resources.files(package).iterdir():
        if not entry.name.endswith(".sql") or not entry.is_file():
            continue
        match = _MIGRATION_FILE.match(entry.name)
        if not match:
            # A misnamed file would silently never run.
            raise ValueError(
                f"migration {entry.name} in {package} is not named NNN_lower_case_name.sql"
            )
        number = match.group(1)
        if number in found:
            raise ValueError(
                f"migrations {found[number][0]} and {entry.name} in {package} share the "
                f"number {number}: renumber one of them"
            )
        found[number] = (entry.name, entry.read_text(encoding="utf-8"))
    return [found[n] for n in sorted(found)]


async def _applied(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    rows = await conn.fetch("SELECT package, name FROM schema_migrations")
    return {(r["package"], r["name"]) for r in rows}


async def migrate(pool: asyncpg.Pool, packages: Sequence[str]) -> list[str]:
    """Apply the migrations of ``packages`` (in the order given) not applied yet.

    Each file runs in its own transaction together with its ledger row, so a crash
    leaves every file either fully applied and recorded or not at all. Returns the
    applied files as ``"package/name"``.
    """
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(_CREATE_LEDGER)
            done = await _applied(conn)
            for package in packages:
                for name, sql in migration_files(package):
                    if (package, name) in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (package, name) VALUES ($1, $2)",
                            package,
                            name,
                        )
                    applied_now.append(f"{package}/{name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now


async def pending_migrations(pool: asyncpg.Pool, packages: Sequence[str]) -> list[str]:
    """The files ``migrate`` would apply now, as ``"package/name"`` (empty when ready)."""
    async with pool.acquire() as conn:
        done = await _applied(conn)
    return [
        f"{package}/{name}"
        for package in packages
        for name, _ in migration_files(package)
        if (package, name) not in done
    ]
