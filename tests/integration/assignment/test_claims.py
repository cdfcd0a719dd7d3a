"""W25 on the real database: of many simultaneous claims exactly one wins; unrouted is 404."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from passend_assignment.domain.case_commands import CaseCommand, Claim, Offer
from passend_assignment.handlers import on_case
from passend_backbone.auth import Principal
from passend_backbone.commands import IdempotencyKey, Refusal, RefusalKind, StoredAnswer
from passend_backbone.eventstore import EventStore

from .kit import SWV, meta_of, migrated_store, ports, route, submission, support_worker, types_of

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


async def _run(
    pool,
    store: EventStore,
    principal: Principal,
    case_id: UUID,
    command: CaseCommand,
    key: IdempotencyKey | None = None,
) -> StoredAnswer:
    return await on_case(
        ports(pool, store), principal, case_id, command, meta=meta_of(principal), now=NOW, key=key
    )


async def _claim(pool, store: EventStore, case_id, worker: str, key=None) -> StoredAnswer:
    return await _run(
        pool, store, support_worker(worker), case_id, Claim(worker, "wu-vlaardingen"), key
    )


async def test_w25_many_simultaneous_claims_exactly_one_wins(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW)
        await route(pool, store, request, NOW)
        anouk = support_worker("ow-anouk")
        offer = Offer("ow-anouk", "wu-vlaardingen", "wu-vlaardingen")
        await _run(pool, store, anouk, request.case_id, offer)
        workers = ["ow-anouk", *(f"ow-colleague-{i}" for i in range(15))]
        results = await asyncio.gather(
            *(_claim(pool, store, request.case_id, w) for w in workers), return_exceptions=True
        )
        wins = [r for r in results if isinstance(r, StoredAnswer)]
        refusals = [r for r in results if isinstance(r, Refusal)]
        assert len(wins) == 1, results
        assert len(refusals) == len(workers) - 1, results
        winner = wins[0].body["case"]["claimed_by"]
        assert all(r.kind is RefusalKind.CONFLICT for r in refusals)
        assert all(r.rule == "W25" for r in refusals)
        assert all(f"already claimed by {winner}" in r.message for r in refusals)
        stream = await store.read_stream(str(request.case_id))
        assert types_of(stream).count("CaseClaimed") == 1
    finally:
        await pool.close()


async def test_w25_claim_before_routing_is_not_found(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        with pytest.raises(Refusal) as refused:
            await _claim(pool, store, uuid4(), "ow-anouk")
        assert refused.value.kind is RefusalKind.NOT_FOUND
    finally:
        await pool.close()


async def test_another_swvs_case_answers_as_if_it_did_not_exist(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW)
        await route(pool, store, request, NOW)
        foreign = support_worker("ow-anouk", None, swv="swv-other")
        with pytest.raises(Refusal) as refused:
            await _run(pool, store, foreign, request.case_id, Claim("ow-anouk", None))
        assert refused.value.kind is RefusalKind.NOT_FOUND
        assert types_of(await store.read_stream(str(request.case_id))) == ["RequestRouted"]
    finally:
        await pool.close()


async def test_a_retried_claim_with_the_same_idempotency_key_gets_the_first_answer(
    db_url: str,
) -> None:
    pool, store = await migrated_store(db_url)
    try:
        request = submission(at=NOW)
        await route(pool, store, request, NOW)
        key = IdempotencyKey.of(SWV, "ow-anouk", "retry-1", f"POST /cases/{request.case_id}/claim")
        first, second = await asyncio.gather(
            _claim(pool, store, request.case_id, "ow-anouk", key),
            _claim(pool, store, request.case_id, "ow-anouk", key),
        )
        assert first == second
        assert first.body["events"] == ["nl.passend.assignment.CaseClaimed.v1"]
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
