"""Other services' facts enter the trajectory's log once, in any order (W25, W10, W14)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from structlog.testing import capture_logs

from passend_contracts.events.assignment import SpecialistRequired
from passend_contracts.events.intake import RequestSubmitted, SupportLevel
from passend_trajectory.domain.decide import DECIDER
from tests.integration.trajectory.kit import (
    SWV,
    T0,
    claimed,
    consent_confirmed,
    deliver,
    migrated_store,
)

pytestmark = pytest.mark.integration


def types(records) -> list[str]:
    return [r.event_type.split(".")[-2] for r in records]


async def test_w25_a_claim_opens_the_trajectory_once_even_when_redelivered(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        case_id = uuid4()
        with capture_logs() as logs:
            event = await deliver(pool, store, claimed(case_id))
            await deliver(pool, store, claimed(case_id), event=event)  # the same event again
            await deliver(pool, store, claimed(case_id, worker="ow-other"))  # a later claim
        reacted = [entry for entry in logs if entry["event"] == "reacted"]
        assert len(reacted) == 1
        assert reacted[0]["case_id"] == str(case_id)
        records = await store.read_stream(str(case_id))
        assert types(records) == ["TrajectoryOpened", "CaseDirectorChanged"]
        assert records[0].swv == SWV
        assert records[0].causation_id == str(event.id)
        assert DECIDER.fold_stored(records).opened.worker_id == "ow-anouk"  # type: ignore[union-attr]
    finally:
        await pool.close()


async def test_w10_consent_before_the_claim_is_kept_in_the_trajectorys_log(db_url: str) -> None:
    pool, store = await migrated_store(db_url)
    try:
        case_id = uuid4()
        await deliver(pool, store, consent_confirmed(case_id))
        await deliver(pool, store, claimed(case_id))
        records = await store.read_stream(str(case_id))
        assert types(records)[:2] == ["ConsentNoted", "TrajectoryOpened"]
        assert DECIDER.fold_stored(records).consent_active
    finally:
        await pool.close()


async def test_w14_specialist_required_or_multiple_problems_mark_the_case_complex(
    db_url: str,
) -> None:
    pool, store = await migrated_store(db_url)
    try:
        case_id = uuid4()
        await deliver(pool, store, claimed(case_id))
        required = SpecialistRequired(
            case_id=case_id, swv_id=SWV, specialist_id="os-jeroen", reason="W14", required_at=T0
        )
        await deliver(pool, store, required)
        submitted = RequestSubmitted(
            case_id=case_id,
            school_id="brin-11aa",
            ib_id="ib-marieke",
            addressed_worker_id="ow-anouk",
            pupil_ref="p-1",
            levels=[SupportLevel.PUPIL],
            educational_need="n",
            tried_in_basic_support="t",
            why_stuck="w",
            multiple_problems=True,
            specialist_advised=False,
            submitted_at=T0,
        )
        await deliver(pool, store, submitted)
        state = DECIDER.fold_stored(await store.read_stream(str(case_id)))
        assert len(state.complexity) == 1
        assert state.director is not None
        assert (state.director.role, state.director.person_id) == (
            "education_specialist",
            "os-jeroen",
        )
    finally:
        await pool.close()
