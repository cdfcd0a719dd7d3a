"""The trajectory projection equals the folded stream after redeliveries, old events and gaps."""

from __future__ import annotations

from uuid import uuid4

import asyncpg
import pytest

from passend_backbone.commands import (
    CommandPorts,
    PostgresIdempotency,
    PostgresTransactions,
    execute,
)
from passend_backbone.eventstore import EventStore, Metadata
from passend_backbone.eventstore.model import RecordedEvent
from passend_contracts.events.trajectory import ConsentStatus
from passend_contracts.registry import parse
from passend_trajectory.domain.commands import Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.exploration import RecordStartConversation
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.projections import TrajectoryProjection
from tests.integration.trajectory.kit import (
    SWV,
    T0,
    WORKER,
    claimed,
    consent_confirmed,
    deliver,
    migrated_store,
)
from tests.unit.trajectory.builders import plan_command

pytestmark = pytest.mark.integration


async def a_stream(pool: asyncpg.Pool, store: EventStore) -> list[RecordedEvent]:
    case_id = uuid4()
    await deliver(pool, store, consent_confirmed(case_id))
    await deliver(pool, store, claimed(case_id))
    conversation = RecordStartConversation(
        participants=[WORKER], sharpened_question="q", levels=["pupil"], held_on=T0.date()
    )
    ports = CommandPorts(store, PostgresTransactions(pool), PostgresIdempotency())
    for command in (conversation, plan_command(T0.date())):
        await execute(
            ports,
            DECIDER,
            str(case_id),
            Issued(WORKER, command),
            tenant=SWV,
            meta=Metadata(SWV, WORKER, "corr", f"cmd:{uuid4()}"),
            now=T0,
        )
    return await store.read_stream(str(case_id))


async def project(pool: asyncpg.Pool, records: list[RecordedEvent]) -> TrajectoryState | None:
    projection = TrajectoryProjection()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE SCHEMA IF NOT EXISTS rm_test")
        await conn.execute("SET LOCAL search_path TO rm_test")
        if await conn.fetchval("SELECT to_regclass('rm_test.trajectories')") is None:
            await projection.setup(conn)
        for record in records:
            event = record.to_cloudevent("/passend/trajectory")
            await projection.handle(conn, event, parse(event))
        raw = await conn.fetchval(
            "SELECT state::text FROM trajectories WHERE case_id = $1::uuid", records[0].stream_id
        )
    return TrajectoryState.model_validate_json(raw) if raw else None


async def test_redelivered_and_older_events_change_nothing(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        records = await a_stream(pool, store)
        again = [*records, *records[:3], records[-1]]
        assert await project(pool, again) == DECIDER.fold_stored(records)
    finally:
        await pool.close()


async def test_a_gap_is_filled_from_the_store(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        records = await a_stream(pool, store)
        assert len(records) >= 4
        skipped = [records[0], *records[2:]]
        assert await project(pool, skipped) == DECIDER.fold_stored(records)
        state = DECIDER.fold_stored(records)
        assert state.consent is not None
        assert state.consent.status is ConsentStatus.CONFIRMED
    finally:
        await pool.close()


async def test_derived_tables_follow_the_state(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        records = await a_stream(pool, store)
        await project(pool, records)
        async with pool.acquire() as conn:
            due = await conn.fetch("SELECT kind, worker_id FROM rm_test.evaluations_due")
        assert [(r["kind"], r["worker_id"]) for r in due] == [("plan", WORKER)]
    finally:
        await pool.close()
