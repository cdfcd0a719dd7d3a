"""The event store appends with optimistic concurrency, stays append-only, detects tampering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest
from structlog.testing import capture_logs

from passend_backbone.db import create_pool, migrate, pending_migrations
from passend_backbone.eventstore import (
    ConcurrencyError,
    EventStore,
    Metadata,
    NewEvent,
    PostgresEventStore,
    verify,
)
from passend_devstack.waiting import eventually

META = Metadata(swv="swv-2801", actor="user-7", correlation_id="corr-1", causation_id="cmd-1")
BACKBONE = ["passend_backbone.migrations"]


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url)
    await migrate(pool, BACKBONE)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def store(db: asyncpg.Pool) -> EventStore:
    return PostgresEventStore(db, "/passend/test")


def new(n: int = 0, **data: object) -> NewEvent:
    return NewEvent("nl.passend.test.Happened.v1", {"n": n, **data})


async def count(pool: asyncpg.Pool) -> int:
    value: int = await pool.fetchval("SELECT count(*) FROM events")
    return value


async def test_migrations_apply_once_even_when_started_together(db_url: str) -> None:
    pool = await create_pool(db_url)
    try:
        assert await pending_migrations(pool, BACKBONE) == [
            "passend_backbone.migrations/001_events.sql",
            "passend_backbone.migrations/002_outbox.sql",
            "passend_backbone.migrations/003_consumers.sql",
            "passend_backbone.migrations/004_events_append.sql",
            "passend_backbone.migrations/005_tenancy.sql",
            "passend_backbone.migrations/006_idempotency.sql",
            "passend_backbone.migrations/007_dead_letters.sql",
            "passend_backbone.migrations/008_text_keys.sql",
            "passend_backbone.migrations/009_loop_members.sql",
        ]
        results = await asyncio.gather(*(migrate(pool, BACKBONE) for _ in range(3)))
        assert sorted(len(r) for r in results) == [0, 0, 9]
        assert await pending_migrations(pool, BACKBONE) == []
    finally:
        await pool.close()


async def test_append_and_read_back(store: EventStore) -> None:
    at = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    first = await store.append("case-1", 0, [new(1), new(2, nested={"b": [1, 2.5]})], META)
    second = await store.append(
        "case-1", 2, [NewEvent("nl.passend.test.Later.v1", {"n": 3}, occurred_at=at)], META
    )
    assert [e.stream_version for e in first + second] == [1, 2, 3]
    assert [e.position for e in first + second] == [1, 2, 3]
    assert first[1].prev_hash == first[0].hash
    assert second[0].prev_hash == first[1].hash
    stored = await store.read_stream("case-1")
    assert stored == first + second
    assert stored[1].data == {"n": 2, "nested": {"b": [1, 2.5]}}
    assert await store.stream_version("case-1") == 3
    assert await store.stream_version("case-none") == 0
    assert await store.read_stream("case-none") == []


async def test_numbers_and_unicode_survive_the_store_and_the_chain_holds(
    store: EventStore, db: asyncpg.Pool
) -> None:
    # The json column keeps the appended text as it is, and that text is what is hashed.
    data = {"whole": 2.0, "huge": 1e100, "tiny": 1.5e-7, "tenth": 0.1, "name": "Zoë ✓", "t": (1, 2)}
    [appended] = await store.append("case-1", 0, [NewEvent("t.v1", data)], META)
    [read] = await store.read_stream("case-1")
    assert read.data["name"] == "Zoë ✓"
    assert read.data["t"] == [1, 2]
    assert read.hash == appended.hash
    assert (await verify(db)).ok


async def test_read_stream_as_of_filters_by_occurred_at(store: EventStore) -> None:
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    events = [NewEvent("t.v1", {"n": i}, occurred_at=t0 + timedelta(days=i)) for i in range(1, 4)]
    await store.append("case-1", 0, events, META)
    as_of = await store.read_stream("case-1", as_of=t0 + timedelta(days=2))
    assert [e.data["n"] for e in as_of] == [1, 2]


async def test_read_all_pages_in_position_order(store: EventStore) -> None:
    await store.append("a", 0, [new(1), new(2)], META)
    await store.append("b", 0, [new(3)], META)
    await store.append("a", 2, [new(4)], META)
    page = await store.read_all(1, limit=2)
    assert [(e.position, e.stream_id, e.data["n"]) for e in page] == [(2, "a", 2), (3, "b", 3)]
    assert [e.data["n"] for e in await store.read_all(3)] == [4]


async def test_wrong_expected_version_writes_nothing(store: EventStore, db: asyncpg.Pool) -> None:
    await store.append("case-1", 0, [new(1)], META)
    with pytest.raises(ConcurrencyError) as info:
        await store.append("case-1", 0, [new(2), new(3)], META)
    assert (info.value.expected, info.value.actual) == (0, 1)
    with pytest.raises(ConcurrencyError):
        await store.append("case-1", 5, [new(2)], META)
    assert await count(db) == 1


async def test_concurrent_appenders_one_wins_the_rest_get_concurrency_errors(
    store: EventStore, db: asyncpg.Pool
) -> None:
    await store.append("case-1", 0, [new(0)], META)
    results = await asyncio.gather(
        *(store.append("case-1", 1, [new(i), new(i)], META) for i in range(8)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, list)]
    losers = [r for r in results if isinstance(r, ConcurrencyError)]
    assert (len(winners), len(losers)) == (1, 7)
    assert await count(db) == 3
    assert (await verify(db)).ok


async def test_duplicate_event_id_writes_nothing_and_returns_the_stored_events(
    store: EventStore, db: asyncpg.Pool
) -> None:
    events = [new(1), new(2)]
    stored = await store.append("case-1", 0, events, META)
    # A reactor re-running with the same deterministic ids and a stale expected version.
    again = await store.append("case-1", 0, events, META)
    assert again == stored
    assert await count(db) == 2


async def test_duplicate_inside_a_callers_transaction_leaves_it_usable(
    store: EventStore, db: asyncpg.Pool
) -> None:
    event = new(1)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO reactor_handled (reactor, event_id) VALUES ('r', $1)", uuid4()
        )
        first = await store.append("case-1", 0, [event], META, conn=conn)
        assert await store.append("case-1", 0, [event], META, conn=conn) == first
        with pytest.raises(ConcurrencyError):
            await store.append("case-1", 0, [new(2)], META, conn=conn)
        await store.append("case-1", 1, [new(3)], META, conn=conn)
    assert await count(db) == 2
    assert await db.fetchval("SELECT count(*) FROM reactor_handled") == 1


async def test_racing_duplicate_ids_store_once(store: EventStore, db: asyncpg.Pool) -> None:
    events = [new(1)]
    results = await asyncio.gather(*(store.append(f"case-{i}", 0, events, META) for i in range(6)))
    assert all(r == results[0] for r in results)
    assert await count(db) == 1


async def blocked_on_a_lock(pool: asyncpg.Pool) -> bool:
    waiting: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return waiting > 0


async def test_append_that_loses_the_race_on_insert_raises_and_leaves_the_txn_usable(
    store: EventStore, db: asyncpg.Pool
) -> None:
    # Both pass the version check; the second waits on the first's index entry, then loses.
    async with db.acquire() as conn_a, db.acquire() as conn_b:
        txn_a = conn_a.transaction()
        await txn_a.start()
        await store.append("case-1", 0, [new(1)], META, conn=conn_a)
        async with conn_b.transaction():
            racing = asyncio.create_task(store.append("case-1", 0, [new(2)], META, conn=conn_b))
            await eventually(lambda: blocked_on_a_lock(db), what="the second append to wait")
            await txn_a.commit()
            with pytest.raises(ConcurrencyError) as info:
                await racing
            assert info.value.actual == 1
            await store.append("case-1", 1, [new(3)], META, conn=conn_b)
    assert [e.data["n"] for e in await store.read_stream("case-1")] == [1, 3]


async def test_duplicate_that_loses_the_race_on_insert_returns_the_stored_event(
    store: EventStore, db: asyncpg.Pool
) -> None:
    event = new(1)
    async with db.acquire() as conn_a:
        txn_a = conn_a.transaction()
        await txn_a.start()
        [first] = await store.append("case-a", 0, [event], META, conn=conn_a)
        racing = asyncio.create_task(store.append("case-b", 0, [event], META))
        await eventually(lambda: blocked_on_a_lock(db), what="the duplicate append to wait")
        await txn_a.commit()
    assert await racing == [first]
    assert await count(db) == 1


async def test_update_delete_and_truncate_are_refused(store: EventStore, db: asyncpg.Pool) -> None:
    await store.append("case-1", 0, [new(1)], META)
    for sql in (
        "UPDATE events SET data = '{}'::jsonb",
        "DELETE FROM events",
        "TRUNCATE events",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await db.execute(sql)
    assert await count(db) == 1


async def test_verify_names_the_event_an_attacker_changed(
    store: EventStore, db: asyncpg.Pool
) -> None:
    for case in ("case-a", "case-b"):
        await store.append(case, 0, [new(1), new(2), new(3)], META)
    assert (await verify(db)).ok
    # An attacker with database access switches the guard off and edits one event.
    async with db.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only_rows")
        await conn.execute(
            "UPDATE events SET data = jsonb_set(data::jsonb, '{n}', '99') "
            "WHERE stream_id = 'case-b' AND stream_version = 2"
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only_rows")
    report = await store.verify()
    assert report.first_break is not None
    assert (report.first_break.stream_id, report.first_break.stream_version) == ("case-b", 2)
    assert report.first_break.expected != report.first_break.actual
    assert (report.streams_checked, report.events_checked) == (2, 6)


async def test_appends_to_existing_streams_chain_on_and_verify(
    store: EventStore, db: asyncpg.Pool
) -> None:
    # New streams are chained by the caller, existing ones by events_append: one chain.
    first = await store.append("case-1", 0, [new(1), new(2)], META)
    more = await store.append("case-1", 2, [new(3)], META)
    more += await store.append("case-1", 3, [new(4), NewEvent("t.Other.v1", {"m": 5})], META)
    chain = first + more
    assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
    read = await store.read_stream("case-1")
    assert read == chain  # what the append returned is what a read gives
    assert [e.event_type for e in read][-2:] == ["nl.passend.test.Happened.v1", "t.Other.v1"]
    report = await verify(db)
    assert (report.ok, report.streams_checked, report.events_checked) == (True, 1, 5)


async def test_verify_reads_large_and_non_ascii_events_whole(
    store: EventStore, db: asyncpg.Pool
) -> None:
    # Rows larger than one COPY chunk, and texts whose UTF-8 is longer than their characters.
    meta = Metadata(
        swv="swv-2801",
        actor="medewerker-é",
        correlation_id="c",
        causation_id="x",
        on_behalf_of="ouder-ø",
    )
    for stream in ("zaak-ü", "zaak-a"):
        await store.append(stream, 0, [new(1, text="✓" * 200_000), new(2)], meta)
        await store.append(stream, 2, [new(3, text="ë" * 70_000)], meta)
    report = await store.verify()
    assert (report.ok, report.streams_checked, report.events_checked) == (True, 2, 6)
    async with db.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only_rows")
        await conn.execute(
            "UPDATE events SET actor = 'medewerker-e' "
            "WHERE stream_id = 'zaak-ü' AND stream_version = 3"
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only_rows")
    report = await store.verify()
    assert report.first_break is not None
    assert (report.first_break.stream_id, report.first_break.stream_version) == ("zaak-ü", 3)
    assert "changed" in report.first_break.reason
    assert (report.broken_streams, report.events_checked) == (1, 6)


async def test_append_listeners_hear_of_appends_that_wrote(
    store: EventStore, db: asyncpg.Pool
) -> None:
    heard: list[str] = []

    def failing() -> None:
        raise RuntimeError("listener broke")

    store.add_append_listener(lambda: heard.append("a"))
    store.add_append_listener(failing)
    store.add_append_listener(lambda: heard.append("b"))
    event = new(1)
    with capture_logs() as logs:
        await store.append("case-1", 0, [event], META)
    assert heard == ["a", "b"]
    assert [entry["event"] for entry in logs] == ["append_listener_failed"]
    async with db.acquire() as conn, conn.transaction():
        await store.append("case-1", 1, [new(2)], META, conn=conn)
        assert heard == ["a", "b", "a", "b"]
    # Nothing written: a duplicate, a conflict.
    await store.append("case-1", 2, [event], META)
    with pytest.raises(ConcurrencyError):
        await store.append("case-1", 0, [new(3)], META)
    assert heard == ["a", "b", "a", "b"]
