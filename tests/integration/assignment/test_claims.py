"""W25 on the real database: of many simultaneous claims exactly one wins; unrouted is 404."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from passend_assignment import idempotency
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.errors import Refusal, Refused
from passend_assignment.domain.routing import claim, offer
from passend_assignment.handlers import Command, run_case_command
from passend_assignment.schemas import CaseOut
from passend_backbone.eventstore import EventStore

from .kit import SWV, migrated_store, route, submission, types_of

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _command(case_id, actor: str, key: idempotency.IdempotencyKey | None = None) -> Command:
    return Command(
        case_id=case_id,
        swv=SWV,
        actor=actor,
        correlation_id=str(uuid4()),
        causation_id=f"test:{uuid4()}",
        key=key,
    )


def _answer(case: CaseState, events: list) -> dict:
    return {"case": CaseOut.of(case).model_dump(mode="json"), "events": len(events)}


async def _claim(pool, store: EventStore, case_id, worker: str, key=None) -> dict:
    def decide(case: CaseState, _: DirectoryState) -> list:
        return claim(case, worker, "wu-vlaardingen", NOW)

    return await run_case_command(pool, store, _command(case_id, worker, key), decide, _answer, NOW)


async def test_w25_many_simultaneous_claims_exactly_one_wins(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW)
        await route(pool, store, request, NOW)

        def offer_it(case: CaseState, _: DirectoryState) -> list:
            return offer(case, "ow-anouk", "wu-vlaardingen", [], NOW)

        await run_case_command(
            pool, store, _command(request.case_id, "ow-anouk"), offer_it, _answer, NOW
        )
        workers = ["ow-anouk", *(f"ow-colleague-{i}" for i in range(15))]
        results = await asyncio.gather(
            *(_claim(pool, store, request.case_id, w) for w in workers), return_exceptions=True
        )
        wins = [r for r in results if isinstance(r, dict)]
        refusals = [r for r in results if isinstance(r, Refused)]
        assert len(wins) == 1, results
        assert len(refusals) == len(workers) - 1, results
        winner = wins[0]["case"]["claimed_by"]
        assert all(r.kind is Refusal.CONFLICT for r in refusals)
        assert all(f"already claimed by {winner}" in r.message for r in refusals)
        stream = await store.read_stream(str(request.case_id))
        assert types_of(stream).count("CaseClaimed") == 1
    finally:
        await pool.close()


async def test_w25_claim_before_routing_is_not_found(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        with pytest.raises(Refused) as refused:
            await _claim(pool, store, uuid4(), "ow-anouk")
        assert refused.value.kind is Refusal.NOT_FOUND
    finally:
        await pool.close()


async def test_another_swvs_case_answers_as_if_it_did_not_exist(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW)
        await route(pool, store, request, NOW)

        def decide(case: CaseState, _: DirectoryState) -> list:
            return claim(case, "ow-anouk", None, NOW)

        foreign = Command(request.case_id, "swv-other", "ow-anouk", "c", "x")
        with pytest.raises(Refused) as refused:
            await run_case_command(pool, store, foreign, decide, _answer, NOW)
        assert refused.value.kind is Refusal.NOT_FOUND
    finally:
        await pool.close()


async def test_a_retried_claim_with_the_same_idempotency_key_gets_the_first_answer(
    db_url: str,
) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW)
        await route(pool, store, request, NOW)
        key = idempotency.key_for(SWV, "ow-anouk", "retry-1", ["claim", request.case_id])
        first, second = await asyncio.gather(
            _claim(pool, store, request.case_id, "ow-anouk", key),
            _claim(pool, store, request.case_id, "ow-anouk", key),
        )
        assert first == second
        assert first["events"] == 1
        stream = await store.read_stream(str(request.case_id))
        assert types_of(stream).count("CaseClaimed") == 1
    finally:
        await pool.close()


async def test_w14_w26_routing_marks_the_specialist_and_sets_durable_timers(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW, multiple_problems=True)
        await route(pool, store, request, NOW)
        await route(pool, store, request, NOW)  # a redelivery routes once
        stream = await store.read_stream(str(request.case_id))
        assert types_of(stream) == ["RequestRouted", "SpecialistRequired"]
        timers = await pool.fetch(
            "SELECT kind, fire_at FROM contact_timers WHERE case_id = $1 ORDER BY fire_at",
            request.case_id,
        )
        assert [t["kind"] for t in timers] == ["reminder", "lapse"]
        # Monday 1 March 2027 -> due the end of Monday 8 March, Amsterdam time.
        assert timers[1]["fire_at"] == datetime(2027, 3, 8, 23, tzinfo=UTC)
    finally:
        await pool.close()
