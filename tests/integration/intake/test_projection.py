"""The requests read model ends the same for every interleaving of the three topics it reads."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from passend_backbone import db
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed, RequestRouted
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentMethod,
    ConsentRequested,
    RequestSubmitted,
    SupportLevel,
)
from passend_contracts.events.trajectory import TrajectoryOpened
from passend_intake.projections import RequestsProjection
from tests.integration.intake.kit import NOW, SCHOOL, SWV

pytestmark = pytest.mark.integration

CASE = UUID("3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13")
TABLES = ("requests", "request_history", "consent", "case_progress")


def envelope(payload: EventPayload, version: int) -> tuple[CloudEvent, EventPayload]:
    event = CloudEvent(
        id=uuid4(),
        source="/passend/test",
        type=payload.event_type,
        subject=str(CASE),
        time=NOW,
        swv=SWV,
        correlationid="c",
        causationid="c",
        actor="someone",
        streamversion=version,
        position=version,
        data=payload.model_dump(mode="json"),
    )
    return event, payload


INTAKE = [
    envelope(
        RequestSubmitted(
            case_id=CASE,
            school_id=SCHOOL,
            ib_id="ib-1",
            addressed_worker_id="w-1",
            pupil_ref="p-1",
            levels=[SupportLevel.PUPIL],
            educational_need="need",
            tried_in_basic_support="tried",
            why_stuck="stuck",
            multiple_problems=False,
            specialist_advised=False,
            submitted_at=NOW,
            parent_refs=["g-1"],
        ),
        1,
    ),
    envelope(
        ConsentRequested(
            case_id=CASE,
            requested_by="ib-1",
            requested_at=NOW,
            parent_refs=["g-1"],
            method=ConsentMethod.START_CONVERSATION,
        ),
        2,
    ),
    envelope(
        ConsentConfirmed(
            case_id=CASE,
            confirmed_by="g-1",
            method=ConsentMethod.START_CONVERSATION,
            confirmed_at=NOW + timedelta(days=1),
        ),
        3,
    ),
]
ASSIGNMENT = [
    envelope(
        RequestRouted(
            case_id=CASE, swv_id=SWV, school_id=SCHOOL, receiving_worker_id="w-1", routed_at=NOW
        ),
        1,
    ),
    envelope(
        CaseClaimed(case_id=CASE, school_id=SCHOOL, ib_id="ib-1", worker_id="w-2", claimed_at=NOW),
        2,
    ),
]
TRAJECTORY = [envelope(TrajectoryOpened(case_id=CASE, worker_id="w-2", opened_at=NOW), 1)]


def interleavings(*streams: list[Any]) -> Iterator[list[Any]]:
    """Every merge of ``streams`` that keeps each stream's own order."""
    slots = [i for i, stream in enumerate(streams) for _ in stream]
    for order in sorted(set(itertools.permutations(slots))):
        cursors = [iter(s) for s in streams]
        yield [next(cursors[i]) for i in order]


async def project(conn: asyncpg.Connection, schema: str, events: list[Any]) -> list[Any]:
    async with conn.transaction():
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET LOCAL search_path TO {schema}, public")
        projection = RequestsProjection()
        await projection.setup(conn)
        for event, payload in events:
            await projection.handle(conn, event, payload)
        dump = []
        for table in TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")
            dump.append([dict(r) for r in rows])
        return dump


async def test_every_interleaving_and_redelivery_gives_the_same_read_model(db_url: str) -> None:
    pool = await db.create_pool(db_url)
    # The projection puts its tables under row-level security (passend_backbone.tenancy).
    await db.migrate(pool, ["passend_backbone.migrations", "passend_intake.migrations"])
    try:
        async with pool.acquire() as conn:
            orders = list(interleavings(INTAKE, ASSIGNMENT, TRAJECTORY))
            assert len(orders) == 60
            expected = await project(conn, "rm_reference", INTAKE + ASSIGNMENT + TRAJECTORY)
            assert expected[0][0]["school_id"] == SCHOOL
            assert expected[2][0]["status"] == "confirmed"
            assert expected[3][0]["claimed_by"] == "w-2"
            for n, order in enumerate(orders):
                assert await project(conn, f"rm_order_{n}", order) == expected, order
            # A redelivered event (as after a crash before the offset commit) changes nothing.
            twice = [*INTAKE, *ASSIGNMENT, *TRAJECTORY, INTAKE[1], ASSIGNMENT[1], INTAKE[0]]
            assert await project(conn, "rm_redelivered", twice) == expected
    finally:
        await pool.close()
