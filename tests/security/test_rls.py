"""Row-level security: a transaction sees only its tenant's rows, and none without a tenant."""

from __future__ import annotations

from importlib import resources
from uuid import uuid4

import asyncpg
import pytest

from passend_assignment.projections import CaseBoard
from passend_backbone import db, tenancy
from passend_backbone.audit.readlog import MIGRATIONS as AUDIT_MIGRATIONS
from passend_backbone.consumer.kinds import Projection
from passend_backbone.consumer.schema import ensure_projection
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_backbone.eventstore import Metadata, NewEvent, PostgresEventStore
from passend_intake import pupil_keys
from passend_intake.projections import RequestsProjection
from passend_notifications.projections import CaseMessages
from passend_trajectory.calendars import Calendars
from passend_trajectory.projections import TrajectoryProjection
from passend_trajectory.reach import CaseReach

pytestmark = pytest.mark.integration

SERVICES: dict[str, tuple[Projection, ...]] = {
    "passend_intake.migrations": (RequestsProjection(),),
    "passend_assignment.migrations": (CaseBoard(),),
    "passend_trajectory.migrations": (TrajectoryProjection(), CaseReach(), Calendars()),
    "passend_notifications.migrations": (CaseMessages(),),
}
# Notifications takes no Idempotency-Key (its creating POST derives its ids from the key).
WITHOUT_IDEMPOTENCY = {"passend_notifications.migrations"}


def test_each_service_migration_protects_its_tenant_tables() -> None:
    for package in SERVICES:
        text = resources.files(package).joinpath("002_tenancy.sql").read_text()
        assert "SELECT passend_protect_tenant_tables();" in text, package


async def _migrated(pool: asyncpg.Pool, package: str) -> None:
    # As the runtime migrates: the backbone's, the read log's, then the service's.
    await db.migrate(pool, [BACKBONE_MIGRATIONS, AUDIT_MIGRATIONS, package])
    for projection in SERVICES[package]:
        await ensure_projection(pool, projection)


async def _seed(pool: asyncpg.Pool, package: str = "passend_intake.migrations") -> None:
    """Rows of two tenants, written by the service's own (system) login."""
    store = PostgresEventStore(pool, "/passend/test")
    for swv in ("swv-a", "swv-b"):
        meta = Metadata(swv=swv, actor="t", correlation_id="c", causation_id="c")
        await store.append(str(uuid4()), 0, [NewEvent("test.Seeded.v1", {"swv": swv})], meta)
        async with pool.acquire() as conn:
            if package == "passend_intake.migrations":
                await pupil_keys.pupil_of_school(conn, swv, "brin-1", "p-1")
            if package in WITHOUT_IDEMPOTENCY:
                await conn.execute(
                    "INSERT INTO contacts (swv, recipient_id, email, updated_at) "
                    "VALUES ($1, 'par-1', 'p@example.org', now())",
                    swv,
                )
                continue
            await conn.execute(
                "INSERT INTO idempotency_keys (swv, subject, idempotency_key, fingerprint) "
                "VALUES ($1, 's', 'k', 'f')",
                swv,
            )


async def _tenant_tables(conn: asyncpg.Connection) -> list[str]:
    """Every table of the database that has a ``swv`` column (tenant-owned by definition)."""
    rows = await conn.fetch(
        "SELECT format('%I.%I', c.table_schema, c.table_name) AS t "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "USING (table_schema, table_name) "
        "WHERE c.column_name = 'swv' AND t.table_type = 'BASE TABLE' "
        "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    )
    return [r["t"] for r in rows]


@pytest.mark.parametrize("package", list(SERVICES))
async def test_every_tenant_table_has_forced_row_level_security(db_url: str, package: str) -> None:
    pool = await db.create_pool(db_url)
    try:
        await _migrated(pool, package)
        async with pool.acquire() as conn:
            tables = await _tenant_tables(conn)
            expected = {"public.events", "public.case_reads"}
            if package not in WITHOUT_IDEMPOTENCY:
                expected.add("public.idempotency_keys")
            assert expected <= set(tables)
            unprotected = await conn.fetch(
                "SELECT c.oid::regclass::text AS t FROM pg_class c "
                "WHERE c.oid = ANY($1::regclass[]) "
                "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
                tables,
            )
            assert [r["t"] for r in unprotected] == []
            policies = await conn.fetchval(
                "SELECT count(*) FROM pg_policies WHERE policyname = 'tenant_isolation'"
            )
            assert policies == len(tables)
    finally:
        await pool.close()


@pytest.mark.parametrize("package", list(SERVICES))
async def test_a_query_with_no_tenant_set_returns_nothing(db_url: str, package: str) -> None:
    pool = await db.create_pool(db_url)
    try:
        await _migrated(pool, package)
        await _seed(pool, package)
        async with pool.acquire() as conn:
            tables = await _tenant_tables(conn)
            own = "contacts" if package in WITHOUT_IDEMPOTENCY else "idempotency_keys"
            seeded = {"public.events", f"public.{own}"}
            for table in seeded:
                assert await conn.fetchval(f"SELECT count(*) FROM {table}") >= 2
            async with conn.transaction():
                # The API's role, but nobody said which tenant: nothing at all.
                await conn.execute(f"SET LOCAL ROLE {tenancy.APP_ROLE}")
                for table in tables:
                    assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    finally:
        await pool.close()


async def test_a_tenant_transaction_reads_and_writes_its_own_tenant_only(db_url: str) -> None:
    pool = await db.create_pool(db_url)
    try:
        await _migrated(pool, "passend_intake.migrations")
        await _seed(pool)
        async with tenancy.tenant_transaction(pool, "swv-a") as conn:
            swvs = await conn.fetch("SELECT DISTINCT swv FROM events")
            assert [r["swv"] for r in swvs] == ["swv-a"]
            keys = await conn.fetch("SELECT swv FROM pupil_keys")
            assert [r["swv"] for r in keys] == ["swv-a"]
            # Not even an UPDATE reaches the other tenant's rows.
            touched = await conn.execute("UPDATE idempotency_keys SET status_code = 200")
            assert touched == "UPDATE 1"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with tenancy.tenant_transaction(pool, "swv-a") as conn:
                await conn.execute(
                    "INSERT INTO idempotency_keys (swv, subject, idempotency_key, fingerprint) "
                    "VALUES ('swv-b', 's', 'k2', 'f')"
                )
        # Events are append-only for the API role as for anyone.
        with pytest.raises(asyncpg.PostgresError):
            async with tenancy.tenant_transaction(pool, "swv-a") as conn:
                await conn.execute("DELETE FROM events")
    finally:
        await pool.close()


async def test_the_tenant_ends_with_the_transaction(db_url: str) -> None:
    pool = await db.create_pool(db_url, min_size=1, max_size=1)
    try:
        await _migrated(pool, "passend_intake.migrations")
        async with tenancy.tenant_transaction(pool, "swv-a") as conn:
            assert await conn.fetchval("SELECT current_user") == tenancy.APP_ROLE
        async with pool.acquire() as conn:  # the same connection, next use
            assert await conn.fetchval("SELECT current_user") != tenancy.APP_ROLE
            setting = await conn.fetchval("SELECT current_setting('passend.swv', true)")
            assert not setting
        with pytest.raises(tenancy.NoTenant):
            async with tenancy.tenant_transaction(pool, ""):
                pass
    finally:
        await pool.close()


@pytest.mark.parametrize("swv", ["swv-a", "o'hara", "back\\slash", "x'); SELECT 1; --", "école"])
async def test_the_tenant_is_set_exactly_as_named(db_url: str, swv: str) -> None:
    pool = await db.create_pool(db_url, min_size=1, max_size=1)
    try:
        await _migrated(pool, "passend_intake.migrations")
        async with tenancy.tenant_transaction(pool, swv, readonly=True) as conn:
            assert await conn.fetchval("SELECT current_setting('passend.swv', true)") == swv
            assert await conn.fetchval("SHOW transaction_read_only") == "on"
        with pytest.raises(tenancy.NoTenant):
            async with tenancy.tenant_transaction(pool, "swv\x00-a"):
                pass
    finally:
        await pool.close()


async def test_a_failing_tenant_transaction_writes_nothing(db_url: str) -> None:
    pool = await db.create_pool(db_url, min_size=1, max_size=1)
    try:
        await _migrated(pool, "passend_intake.migrations")

        async def make_a_key_then_fail() -> None:
            async with tenancy.tenant_transaction(pool, "swv-a") as conn:
                await pupil_keys.pupil_of_school(conn, "swv-a", "brin-1", "p-9")
                raise RuntimeError("stop")

        with pytest.raises(RuntimeError, match="stop"):
            await make_a_key_then_fail()
        async with tenancy.tenant_transaction(pool, "swv-a") as conn:
            assert await conn.fetchval("SELECT count(*) FROM pupil_keys") == 0
            await pupil_keys.pupil_of_school(conn, "swv-a", "brin-1", "p-9")
        async with pool.acquire() as conn:  # committed, and the connection is clean again
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM pupil_keys") == 1
    finally:
        await pool.close()
