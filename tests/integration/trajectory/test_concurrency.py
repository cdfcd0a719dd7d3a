"""Commands and reactions racing on one case are each decided again on the new state, none lost."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    PostgresIdempotency,
    PostgresTransactions,
    execute,
)
from passend_backbone.eventstore import Metadata
from passend_contracts.events.trajectory import SignalRecipient, SignalTopic
from passend_trajectory.domain.commands import Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.support import RaiseSignal
from tests.integration.trajectory.kit import (
    SWV,
    T0,
    WORKER,
    claimed,
    consent_confirmed,
    deliver,
    migrated_store,
)

pytestmark = pytest.mark.integration


async def test_racing_signals_and_consent_notes_all_land_in_order(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    ports = CommandPorts(store, PostgresTransactions(pool), PostgresIdempotency())
    try:
        case_id = uuid4()
        await deliver(pool, store, claimed(case_id))

        async def signal() -> tuple[dict[str, Any], dict[str, Any]]:
            body = RaiseSignal(
                signal_id=uuid4(),
                addressed_to=[SignalRecipient.IB],
                about=SignalTopic.SCHOOL_OFFER,
                description="the offer doesn't fit",
            )
            key = IdempotencyKey.of(
                SWV,
                WORKER,
                f"signal-{body.signal_id}",
                f"trajectory.signal:{case_id}",
                body.model_dump(mode="json"),
            )

            async def run() -> dict[str, Any]:
                meta = Metadata(SWV, WORKER, "corr", f"cmd:{uuid4()}")
                answer = await execute(
                    ports,
                    DECIDER,
                    str(case_id),
                    Issued(WORKER, body),
                    tenant=SWV,
                    meta=meta,
                    now=T0,
                    key=key,
                )
                return answer.body

            first = await run()
            # A retry with the key, even one whose first try lost a race, gets the answer.
            return first, await run()

        async def consent() -> None:
            await deliver(pool, store, consent_confirmed(case_id))

        signals = asyncio.gather(*(signal() for _ in range(5)))
        answers, _ = await asyncio.gather(signals, asyncio.gather(consent(), consent()))
        for first, again in answers:
            assert first == again
            assert first["events"][0]["type"].endswith("SignalRaised.v1")
        records = await store.read_stream(str(case_id))
        assert [r.stream_version for r in records] == list(range(1, len(records) + 1))
        state = DECIDER.fold_stored(records)
        assert len(state.signals) == 5
        assert sum(r.event_type.endswith("ConsentNoted.v1") for r in records) == 2
    finally:
        await pool.close()
