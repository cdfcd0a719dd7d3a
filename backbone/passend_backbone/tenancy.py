"""Tenant isolation in PostgreSQL: row-level security on tenant tables, the tenant per transaction.

Every table that holds one SWV's rows has a ``swv`` column, row-level security enabled
and *forced*, and one policy: a row is visible (and writable) only when its ``swv`` equals
the transaction's setting ``passend.swv``. A transaction with no tenant set sees nothing.

Two identities use a service's database:

- the service's **login role** (owner of the tables; the relay, the consumers, the
  schedulers, the migrations). It works across tenants by design and must bypass row
  security: a superuser in development, a role with ``BYPASSRLS`` in production.
- :data:`APP_ROLE` (``passend_app``, NOLOGIN, no ``BYPASSRLS``): everything done on behalf
  of a caller of the HTTP API. :func:`tenant_transaction` switches to it with
  ``SET LOCAL ROLE`` and sets the tenant with ``set_config(..., true)``; both end with the
  transaction, so a pooled connection never carries a tenant into the next use.

A mistake in an API query (a missing ``WHERE swv = ...``) then shows no other tenant's
rows: the database filters them.

The role and the SQL functions come from the backbone's migration ``005_tenancy.sql``. A
service adopts it in its own tenancy migration with ``SELECT
passend_protect_tenant_tables();`` (every table with a tenant column made so far) and one
``SELECT passend_protect_tenant_table('my_table');`` per table, and with one line per
read-model table in its projection's ``setup`` (each generation's tables are new tables):
``await protect(conn, "my_table")``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

APP_ROLE = "passend_app"
TENANT_SETTING = "passend.swv"


class NoTenant(ValueError):
    """A tenant transaction was asked for without a tenant."""


async def enter_tenant(conn: asyncpg.Connection, swv: str) -> None:
    """Within the open transaction on ``conn``: act as :data:`APP_ROLE` for tenant ``swv``.

    Both settings are transaction-local, so they end with the transaction.
    """
    if not swv:
        raise NoTenant("a tenant transaction needs the caller's SWV")
    await conn.execute(
        "SELECT set_config($1, $2, true), set_config('role', $3, true)",
        TENANT_SETTING,
        swv,
        APP_ROLE,
    )


def sql_literal(text: str) -> str:
    """``text`` as an escape-string literal, whatever ``standard_conforming_strings`` says
    (for the settings of a simple query, which can't take parameters)."""
    if "\x00" in text:
        raise NoTenant("a setting can't contain a NUL character")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _begin_as_tenant(swv: str, *, readonly: bool) -> str:
    """``BEGIN`` and the tenant set-up of :func:`enter_tenant` as one simple query."""
    if not swv:
        raise NoTenant("a tenant transaction needs the caller's SWV")
    return (
        f"BEGIN{' READ ONLY' if readonly else ''}; "
        f"SELECT set_config({sql_literal(TENANT_SETTING)}, {sql_literal(swv)}, true), "
        f"set_config('role', {sql_literal(APP_ROLE)}, true)"
    )


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool, swv: str, *, readonly: bool = False
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that sees and writes only ``swv``'s rows of protected tables.

    It begins with the tenant already set, in one round trip (a simple query can't take
    parameters, hence the quoted literal), and commits when the block ends without an
    exception. A connection released with the transaction still open (the block was
    cancelled while rolling back) is rolled back by the pool.
    """
    begin = _begin_as_tenant(swv, readonly=readonly)
    async with pool.acquire() as conn:
        await conn.execute(begin)
        try:
            yield conn
        except BaseException:
            # A broken connection can't roll back; the pool discards it, which ends the
            # transaction too. The block's own exception is the one that matters.
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")


async def protect(conn: asyncpg.Connection, *tables: str) -> None:
    """Put ``tables`` (names as the connection's ``search_path`` resolves them) under RLS.

    For a projection's ``setup``: each generation's tables are new and need it again.
    """
    for table in tables:
        await conn.execute("SELECT public.passend_protect_tenant_table($1::regclass)", table)
