"""The case board reaches the same rows for any order of arrival and any batching of events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.routing import route_request
from passend_assignment.projections import CaseBoard
from passend_backbone import db
from passend_backbone.consumer.deliveries import Delivery
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    FirstContactRecorded,
    RouteCoachCalledIn,
    SpecialistRequired,
)
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import TrajectoryClosed
from passend_contracts.registry import parse

from .kit import SWV, submission

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _history() -> list[EventPayload]:
    request = submission(at=NOW, multiple_problems=True)
    case_id = request.case_id
    later = NOW + timedelta(days=1)
    routed = route_request(request, SWV, DirectoryState(), NOW)
    assert isinstance(routed[1], SpecialistRequired)
    return [
        *routed,
        CaseOfferedToWorkUnit(
            case_id=case_id, work_unit_id="wu-1", offered_by="ow-anouk", offered_at=NOW
        ),
        CaseClaimed(
            case_id=case_id, school_id="brin-11aa", ib_id="ib", worker_id="ow-bart", claimed_at=NOW
        ),
        FirstContactRecorded(
            case_id=case_id,
            worker_id="ow-bart",
            ib_id="ib",
            contacted_at=later,
            within_deadline=True,
            recorded_at=later,
        ),
        RouteCoachCalledIn(
            case_id=case_id, called_by="ib", side="school", reason="vastgelopen", called_at=later
        ),
        RouteCoachCalledIn(
            case_id=case_id, called_by="ow-bart", side="support", reason="opnieuw", called_at=later
        ),
        TrajectoryClosed(case_id=case_id, closed_by="ow-bart", closed_at=later),
    ]


def _cloud(payload: EventPayload) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/test",
        type=payload.event_type,
        subject=str(payload.case_id),  # type: ignore[attr-defined]
        time=NOW,
        swv=SWV,
        correlationid="c",
        causationid="c",
        actor="a",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


async def _row_after(conn: asyncpg.Connection, events: list[EventPayload]) -> dict:
    board = CaseBoard()
    async with conn.transaction():
        await conn.execute(
            "CREATE SCHEMA IF NOT EXISTS board_test; SET LOCAL search_path = board_test"
        )
        await board.setup(conn)
        for event in events:
            await board.handle(conn, _cloud(event), event)
        row = dict(await conn.fetchrow("SELECT * FROM cases"))
        await conn.execute("DROP SCHEMA board_test CASCADE")
    return row


async def test_any_order_of_arrival_gives_the_same_row(pool: asyncpg.Pool) -> None:
    # The projection puts its table under row-level security (passend_backbone.tenancy).
    await db.migrate(pool, [BACKBONE_MIGRATIONS, "passend_assignment.migrations"])
    history = _history()
    async with pool.acquire() as conn:
        expected = await _row_after(conn, history)
        assert expected["claimed_by"] == "ow-bart"
        assert expected["route_coach_calls"] == 2
        assert expected["closed_at"] is not None
        assert expected["specialist_required"] is True
        shuffler = random.Random(26)
        orders = [list(reversed(history))]
        for _ in range(6):
            order = list(history)
            shuffler.shuffle(order)
            orders.append(order)
        for order in orders:
            assert await _row_after(conn, order) == expected


async def _rows_after(
    conn: asyncpg.Connection, one_by_one: list[CloudEvent], batch: list[CloudEvent]
) -> list[dict]:
    """The rows after ``one_by_one`` through ``handle``, then ``batch`` through ``handle_batch``."""
    board = CaseBoard()
    async with conn.transaction():
        await conn.execute(
            "CREATE SCHEMA IF NOT EXISTS board_test; SET LOCAL search_path = board_test"
        )
        await board.setup(conn)
        for event in one_by_one:
            await board.handle(conn, event, parse(event))
        await board.handle_batch(conn, [Delivery(None, e, parse(e)) for e in batch])
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM cases ORDER BY case_id")]
        await conn.execute("DROP SCHEMA board_test CASCADE")
    return rows


async def test_a_batch_gives_the_rows_of_one_event_at_a_time(pool: asyncpg.Pool) -> None:
    await db.migrate(pool, [BACKBONE_MIGRATIONS, "passend_assignment.migrations"])
    # Two cases interleaved; each case's events keep their order within every batch.
    first, second = _history(), _history()
    events = [_cloud(p) for pair in zip(first, second, strict=True) for p in pair]
    async with pool.acquire() as conn:
        expected = await _rows_after(conn, events, [])
        assert len(expected) == 2
        assert [row["route_coach_calls"] for row in expected] == [2, 2]
        for split in (0, 1, 3, 7, len(events) - 1):
            # The part before the split already wrote the rows the batch then updates.
            assert await _rows_after(conn, events[:split], events[split:]) == expected
