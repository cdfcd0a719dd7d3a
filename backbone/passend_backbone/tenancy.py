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

A service adopts it with one migration line per table,
``SELECT passend_protect_tenant_table('my_table');``, after :data:`SETUP_SQL` ran in its
database, and with one line per read-model table in its projection's ``setup`` (each
generation's tables are new tables): ``await protect(conn, "my_table")``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from passend_backbone.consumer.readmodel import read_model

APP_ROLE = "passend_app"
TENANT_SETTING = "passend.swv"

# Idempotent; safe when several services' databases share one cluster (roles are
# cluster-wide, so two first starts may race to create it: the loser ignores that).
SETUP_SQL = """
-- Tenant isolation (passend_backbone.tenancy): the role API requests run as, and the
-- function that puts a table under row-level security for it.
DO $$
BEGIN
    CREATE ROLE passend_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

DO $$
BEGIN
    -- A login role that is no superuser may switch to passend_app only as a member.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT passend_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO passend_app;
-- Read models live in a schema per projection generation, created later by this same
-- login role: passend_app may use them and read their tables (their policies still apply).
ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO passend_app;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO passend_app;
GRANT SELECT ON projection_generations TO passend_app;

CREATE OR REPLACE FUNCTION passend_protect_tenant_table(target regclass) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s '
        'USING (swv = current_setting(''passend.swv'', true)) '
        'WITH CHECK (swv = current_setting(''passend.swv'', true))',
        target);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %s TO passend_app', target);
END
$fn$;

-- Every table there is so far with a tenant column: the event store (API requests append
-- and read their own tenant's events only), the read log, and the service's own tables
-- created by its earlier migrations. Tables made later need their own line.
DO $$
DECLARE
    target regclass;
BEGIN
    FOR target IN
        SELECT format('%I.%I', c.table_schema, c.table_name)::regclass
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.column_name = 'swv' AND c.table_schema = 'public'
          AND t.table_type = 'BASE TABLE'
    LOOP
        PERFORM passend_protect_tenant_table(target);
    END LOOP;
END
$$;
""".strip()


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


def _literal(text: str) -> str:
    """``text`` as an escape-string literal, whatever ``standard_conforming_strings`` says."""
    if "\x00" in text:
        raise NoTenant("a tenant name can't contain a NUL character")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _begin_as_tenant(swv: str, *, readonly: bool) -> str:
    """``BEGIN`` and the tenant set-up of :func:`enter_tenant` as one simple query."""
    if not swv:
        raise NoTenant("a tenant transaction needs the caller's SWV")
    return (
        f"BEGIN{' READ ONLY' if readonly else ''}; "
        f"SELECT set_config({_literal(TENANT_SETTING)}, {_literal(swv)}, true), "
        f"set_config('role', {_literal(APP_ROLE)}, true)"
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


@asynccontextmanager
async def tenant_read_model(
    pool: asyncpg.Pool, projection_name: str, swv: str
) -> AsyncIterator[asyncpg.Connection]:
    """:func:`~passend_backbone.consumer.readmodel.read_model`, restricted to ``swv``."""
    async with read_model(pool, projection_name) as conn:
        await enter_tenant(conn, swv)
        yield conn


async def protect(conn: asyncpg.Connection, *tables: str) -> None:
    """Put ``tables`` (names as the connection's ``search_path`` resolves them) under RLS.

    For a projection's ``setup``: each generation's tables are new and need it again.
    """
    for table in tables:
        await conn.execute("SELECT public.passend_protect_tenant_table($1::regclass)", table)
