"""W24-W26: intake's RequestWithdrawn closes the case once, cancels its timers and its board row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from passend_assignment import views
from passend_assignment.domain.case_commands import Claim
from passend_assignment.handlers import on_case
from passend_assignment.projections import CaseBoard
from passend_assignment.reactors import RoutingReactor
from passend_assignment.scheduler import fire_due_timers
from passend_assignment.streams import payloads
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import RequestWithdrawn

from .kit import SWV, meta_of, migrated_store, ports, route, submission, support_worker, types_of

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 1, 10, tzinfo=UTC)  # a Monday
WITHDRAWN = SUBMITTED + timedelta(days=1)


def _withdrawal_event(payload: RequestWithdrawn) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/intake",
        type=payload.event_type,
        subject=str(payload.case_id),
        time=payload.withdrawn_at,
        swv=SWV,
        correlationid=str(uuid4()),
        causationid=f"withdraw:{uuid4()}",
        actor="ib-marieke",
        streamversion=2,
        position=2,
        data=payload.model_dump(mode="json"),
    )


async def _react(pool: asyncpg.Pool, store, event: CloudEvent, payload: RequestWithdrawn) -> None:
    reactor = RoutingReactor(clock=lambda: WITHDRAWN)
    async with pool.acquire() as conn, conn.transaction():
        await reactor.react(conn, event, payload, store)


async def test_w26_a_withdrawn_request_stops_its_timers_once_and_refuses_a_claim(
    db_url: str,
) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=SUBMITTED)
        await route(pool, store, request, SUBMITTED)
        withdrawn = RequestWithdrawn(
            case_id=request.case_id,
            withdrawn_by="ib-marieke",
            reason="De ouders verhuizen",
            withdrawn_at=WITHDRAWN,
        )
        event = _withdrawal_event(withdrawn)
        await _react(pool, store, event, withdrawn)
        # The same event redelivered, and the same withdrawal under another event id: once.
        await _react(pool, store, event, withdrawn)
        await _react(pool, store, _withdrawal_event(withdrawn), withdrawn)

        records = await store.read_stream(str(request.case_id))
        assert types_of(records) == ["RequestRouted", "CaseWithdrawn"]
        noted = records[-1]
        assert noted.data["receiving_worker_id"] == "ow-anouk"
        assert noted.causation_id == str(event.id)
        assert "reason" not in noted.data  # the school's words stay in intake

        timers = await pool.fetch("SELECT kind, cancelled_at FROM contact_timers")
        assert {r["kind"] for r in timers} == {"reminder", "lapse"}
        assert all(r["cancelled_at"] == WITHDRAWN for r in timers)
        assert await fire_due_timers(pool, store, SUBMITTED + timedelta(days=30)) == 0
        assert types_of(await store.read_stream(str(request.case_id)))[-1] == "CaseWithdrawn"

        anouk = support_worker("ow-anouk", None)
        with pytest.raises(Refusal) as refused:
            await on_case(
                ports(pool, store),
                anouk,
                request.case_id,
                Claim("ow-anouk", None),
                meta=meta_of(anouk),
                now=WITHDRAWN,
            )
        assert refused.value.kind is RefusalKind.CONFLICT and refused.value.rule == "W25"

        # The case board drops the case from the inbox, caseload and open deadlines.
        board = CaseBoard()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("CREATE SCHEMA board_w; SET LOCAL search_path = board_w")
            await board.setup(conn)
            for record, payload in zip(records, payloads(records), strict=True):
                await board.handle(conn, record.to_cloudevent("/passend/assignment"), payload)
            assert await views.inbox(conn, SWV, "ow-anouk") == []
            assert await views.open_deadlines(conn, SWV, None) == []
            assert await views.open_case_counts(conn, SWV) == {}
            row = await conn.fetchrow("SELECT closed_at FROM cases")
            assert row["closed_at"] == WITHDRAWN
    finally:
        await pool.close()


async def test_a_withdrawal_of_a_case_never_routed_appends_nothing(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        withdrawn = RequestWithdrawn(
            case_id=uuid4(), withdrawn_by="ib-marieke", reason="Vergissing", withdrawn_at=WITHDRAWN
        )
        await _react(pool, store, _withdrawal_event(withdrawn), withdrawn)
        assert await store.read_stream(str(withdrawn.case_id)) == []
    finally:
        await pool.close()
