"""The auditors' chain check finds what the store's own verifier finds, and names the position."""

from __future__ import annotations

import asyncpg
import pytest

from passend_backbone import db
from passend_backbone.audit import verify_chains
from passend_backbone.eventstore import EventStore, Metadata, NewEvent, PostgresEventStore, verify

pytestmark = pytest.mark.integration


def meta(swv: str) -> Metadata:
    return Metadata(swv=swv, actor="ib-1", correlation_id="c", causation_id="cmd")


async def store_with_streams(pool: asyncpg.Pool) -> EventStore:
    await db.migrate(pool, ["passend_backbone.migrations"])
    store = PostgresEventStore(pool, "/passend/test")
    for stream in ("a", "b", "c"):
        events = [NewEvent("nl.passend.test.Thing.v1", {"n": n, "x": 1.5}) for n in range(3)]
        await store.append(stream, 0, events, meta("swv-1"))
    await store.append("z", 0, [NewEvent("nl.passend.test.Thing.v1", {"n": 0})], meta("swv-2"))
    return store


async def tamper(pool: asyncpg.Pool, sql: str, *args: object) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only_rows")
        await conn.execute(sql, *args)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only_rows")


async def test_an_intact_store_passes_and_a_tenant_sees_only_its_streams(
    pool: asyncpg.Pool,
) -> None:
    await store_with_streams(pool)
    whole = await verify_chains(pool, "test")
    assert (whole.ok, whole.streams_checked, whole.events_checked) == (True, 4, 10)
    own = await verify_chains(pool, "test", swv="swv-1")
    assert (own.ok, own.streams_checked, own.events_checked) == (True, 3, 9)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        (
            'UPDATE events SET data = \'{"n": 1, "x": 2.5}\' '
            "WHERE stream_id = 'b' AND stream_version = 2",
            "the event was changed",
        ),
        ("DELETE FROM events WHERE stream_id = 'b' AND stream_version = 2", "an event is missing"),
        (
            "UPDATE events SET prev_hash = sha256(prev_hash) "
            "WHERE stream_id = 'b' AND stream_version = 3",
            "prev_hash differs",
        ),
        (
            "ALTER TABLE events DROP CONSTRAINT events_hash_check; "
            "UPDATE events SET hash = '\\x01' WHERE stream_id = 'b' AND stream_version = 2",
            "the event was changed",
        ),
        (
            # The as-of view counts by recorded_at: moving it changes what the case looked
            # like on a date, so the chain covers it (issue 20).
            "UPDATE events SET recorded_at = recorded_at + interval '30 days' "
            "WHERE stream_id = 'b' AND stream_version = 2",
            "the event was changed",
        ),
        (
            "ALTER TABLE events ALTER COLUMN actor DROP NOT NULL; "
            "UPDATE events SET actor = NULL WHERE stream_id = 'b' AND stream_version = 2",
            "the event was changed",
        ),
    ],
)
async def test_each_kind_of_tampering_is_found_where_the_store_finds_it(
    pool: asyncpg.Pool, sql: str, reason: str
) -> None:
    await store_with_streams(pool)
    await tamper(pool, sql)
    found = await verify_chains(pool, "test")
    theirs = await verify(pool)
    assert found.first_break is not None and theirs.first_break is not None
    assert found.first_break.stream_id == theirs.first_break.stream_id == "b"
    assert found.first_break.stream_version == theirs.first_break.stream_version
    assert reason in found.first_break.reason
    position = await pool.fetchval(
        "SELECT position FROM events WHERE stream_id = 'b' AND stream_version = $1",
        found.first_break.stream_version,
    )
    assert found.first_break.position == position
    assert (found.events_checked, found.broken_streams) == (theirs.events_checked, 1)
