"""W10: assignment's consent view ends the same for any order of intake's consent events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest

from passend_assignment.consent_view import ConsentBoard, ConsentOut, consent_of
from passend_backbone import db
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentMethod,
    ConsentRequested,
    ConsentWithdrawn,
    RequestSubmitted,
)

from .kit import SWV, submission

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _cloud(payload: EventPayload, case_id: UUID) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/intake",
        type=payload.event_type,
        subject=str(case_id),
        time=NOW,
        swv=SWV,
        correlationid="c",
        causationid="c",
        actor="a",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


async def _consent_after(
    conn: asyncpg.Connection, case_id: UUID, events: list[EventPayload]
) -> ConsentOut | None:
    board = ConsentBoard()
    async with conn.transaction():
        await conn.execute("CREATE SCHEMA consent_test; SET LOCAL search_path = consent_test")
        await board.setup(conn)
        for event in events:
            await board.handle(conn, _cloud(event, case_id), event)
        consent = await consent_of(conn, SWV, case_id)
        await conn.execute("DROP SCHEMA consent_test CASCADE")
    return consent


def _history(request: RequestSubmitted) -> list[EventPayload]:
    case_id = request.case_id
    return [
        request,
        ConsentRequested(
            case_id=case_id,
            requested_by="ib-marieke",
            requested_at=NOW,
            parent_refs=["ouder-1"],
            method=ConsentMethod.PERSONAL_LINK,
        ),
        ConsentConfirmed(
            case_id=case_id,
            confirmed_by="ouder-1",
            method=ConsentMethod.PERSONAL_LINK,
            confirmed_at=NOW + timedelta(hours=2),
        ),
    ]


async def test_w10_confirmed_consent_shows_whatever_the_order(pool: asyncpg.Pool) -> None:
    await db.migrate(pool, [BACKBONE_MIGRATIONS, "passend_assignment.migrations"])
    request = submission(at=NOW)
    history = _history(request)
    async with pool.acquire() as conn:
        assert await _consent_after(conn, request.case_id, [request]) is None
        expected = await _consent_after(conn, request.case_id, history)
        assert expected is not None
        assert expected.status == "confirmed" and expected.individual_support_allowed
        assert expected.confirmed_by == "ouder-1" and expected.requested_at == NOW
        for order in (list(reversed(history)), history[1:][::-1]):
            assert await _consent_after(conn, request.case_id, order) == expected


async def test_w10_a_withdrawal_after_confirmation_wins_in_any_order(pool: asyncpg.Pool) -> None:
    await db.migrate(pool, [BACKBONE_MIGRATIONS, "passend_assignment.migrations"])
    request = submission(at=NOW)
    history = [
        *_history(request),
        ConsentWithdrawn(
            case_id=request.case_id, withdrawn_by="ouder-1", withdrawn_at=NOW + timedelta(days=3)
        ),
    ]
    shuffler = random.Random(10)
    async with pool.acquire() as conn:
        expected = await _consent_after(conn, request.case_id, history)
        assert expected is not None
        assert expected.status == "withdrawn" and not expected.individual_support_allowed
        assert expected.confirmed_at is not None  # the earlier confirmation stays on record
        for _ in range(5):
            order = list(history)
            shuffler.shuffle(order)
            assert await _consent_after(conn, request.case_id, order) == expected
