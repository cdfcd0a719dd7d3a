"""A parallel rebuild (forked workers, events of a validated shape as JSON, COPY) leaves exactly
the tables an event-by-event rebuild through the contract leaves: every row of every table of
the case board's new generation (cases, handled, consumed), compared as text.

The topics hold what makes the fast path fall back: a republished event, an event of a type
the board ignores, an unknown type, a body with a field a newer producer added, bodies
without a defaulted field, and one event whose value PostgreSQL can't cast (the raw batch
fails, the contract names the event, both rebuilds report it).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from passend_assignment.projections import CaseBoard
from passend_backbone import kafka_io
from passend_backbone.consumer.deliveries import Delivery, RawEvent
from passend_backbone.consumer.kinds import RawBatchProjection
from passend_backbone.consumer.rebuild import RebuildReport, rebuild
from passend_backbone.db import migrate
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    CaseWithdrawn,
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    FirstContactRecorded,
    RequestRouted,
    RouteCoachCalledIn,
    SpecialistRequired,
    WorkUnitDefined,
)
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import TrajectoryClosed
from passend_devstack.infra import Broker

pytestmark = pytest.mark.integration

CASES = 240
SWV = "swv-parity"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class OneByOne:
    """The case board as a plain projection: ``handle`` for each event, through the contract."""

    def __init__(self, name: str, topics: tuple[str, ...]) -> None:
        self.inner = CaseBoard()
        self.name = name
        self.topics = topics

    async def setup(self, conn: asyncpg.Connection) -> None:
        await self.inner.setup(conn)

    async def handle(self, conn: asyncpg.Connection, event: CloudEvent, payload: Any) -> None:
        await self.inner.handle(conn, event, payload)


class Fast(OneByOne):
    """The case board with its batch and raw paths; counts raw batches (in this process)."""

    raw_batches = 0
    raw_events = 0

    @property
    def raw_types(self) -> frozenset[str]:
        return self.inner.raw_types

    async def handle_batch(self, conn: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        await self.inner.handle_batch(conn, deliveries)

    async def handle_raw_batch(
        self, conn: asyncpg.Connection, events: Sequence[RawEvent | Delivery]
    ) -> None:
        type(self).raw_batches += 1
        type(self).raw_events += sum(isinstance(e, RawEvent) for e in events)
        await self.inner.handle_raw_batch(conn, events)


def _record(payload: EventPayload, subject: str, **data_changes: Any) -> CloudEvent:
    data = {**payload.model_dump(mode="json"), **data_changes}
    for key in [k for k, v in data_changes.items() if v is _DROP]:
        del data[key]
    return CloudEvent(
        id=uuid.uuid4(),
        source="/passend/assignment",
        type=payload.event_type,
        subject=subject,
        time=T0,
        swv=SWV,
        correlationid=f"c-{subject[:8]}",
        causationid="parity",
        actor="system:test",
        streamversion=1,
        position=1,
        data=data,
    )


_DROP = object()


def _events(rng: random.Random) -> tuple[list[CloudEvent], list[CloudEvent], str]:
    """(assignment topic, trajectory topic, the id of the event no rebuild can apply)."""
    assignment: list[CloudEvent] = []
    trajectory: list[CloudEvent] = []
    poison = ""
    for n in range(CASES):
        case_id = uuid.UUID(int=rng.getrandbits(128))
        subject = str(case_id)
        at = T0 + timedelta(minutes=n)
        routed = RequestRouted(
            case_id=case_id,
            swv_id=SWV,
            school_id=f"brin-{n % 7}",
            receiving_worker_id=f"ow-{n % 5}",
            routed_at=at,
            ib_id=f"ib-{n % 7}",
            work_unit_id=f"wu-{n % 3}",
            need_areas=["lezen", "gedrag"][: n % 3],
            submitted_at=at - timedelta(minutes=2),
            contact_due_on=date(2027, 3, 8),
            contact_due_at=at + timedelta(days=7),
        )
        if n % 40 == 7:
            assignment.append(_record(routed, subject, added_by_a_newer_producer="x"))
        elif n % 30 == 11:
            assignment.append(_record(routed, subject, need_areas=_DROP))  # its default: []
        elif n == 102:
            bad = _record(routed, subject, routed_at="not a moment")
            poison = str(bad.id)
            assignment.append(bad)
        else:
            assignment.append(_record(routed, subject))
        if n % 3 == 0:
            assignment.append(
                _record(
                    SpecialistRequired(
                        case_id=case_id, swv_id=SWV, reason="r", required_at=at, specialist_id="s1"
                    ),
                    subject,
                )
            )
        if n % 2 == 0:
            assignment.append(
                _record(
                    CaseOfferedToWorkUnit(
                        case_id=case_id, work_unit_id="wu-1", offered_by="ow-1", offered_at=at
                    ),
                    subject,
                )
            )
            claimed = CaseClaimed(
                case_id=case_id, school_id="brin-1", ib_id="ib-1", worker_id="ow-2", claimed_at=at
            )
            assignment.append(_record(claimed, subject))
        if n % 4 == 0:
            assignment.append(
                _record(
                    FirstContactRecorded(
                        case_id=case_id,
                        worker_id="ow-2",
                        ib_id="ib-1",
                        contacted_at=at + timedelta(hours=3),
                        within_deadline=True,
                        recorded_at=at + timedelta(hours=4),
                    ),
                    subject,
                )
            )
        for k in range(n % 3):
            called = RouteCoachCalledIn(
                case_id=case_id, called_by="ow-2", side="school", reason="vast", called_at=at
            )
            assignment.append(_record(called, subject))
            if k == 1 and n % 9 == 0:
                assignment.append(assignment[-1])  # republished: the same event again
        if n % 5 == 1:
            assignment.append(
                _record(
                    ContactDeadlineApproaching(
                        case_id=case_id, responsible_worker_id="ow-1", due_at=at, raised_at=at
                    ),
                    subject,
                )
            )
        if n % 7 == 2:
            assignment.append(
                _record(
                    ContactDeadlineMissed(
                        case_id=case_id, receiving_worker_id="ow-1", due_at=at, missed_at=at
                    ),
                    subject,
                )
            )
        if n % 11 == 3:
            assignment.append(
                _record(
                    CaseWithdrawn(
                        case_id=case_id,
                        receiving_worker_id="ow-1",
                        withdrawn_by="ib",
                        withdrawn_at=at,
                    ),
                    subject,
                )
            )
        if n % 6 == 5:
            trajectory.append(
                _record(TrajectoryClosed(case_id=case_id, closed_by="ow-2", closed_at=at), subject)
            )
        if n % 50 == 0:
            unit = WorkUnitDefined(swv_id=SWV, work_unit_id="wu-9", name="Noord", defined_at=at)
            assignment.append(_record(unit, SWV))  # a type the board ignores
            unknown = _record(unit, SWV)
            assignment.append(unknown.model_copy(update={"type": "nl.passend.assignment.Later.v9"}))
    return assignment, trajectory, poison


async def _publish(bootstrap: str, topic: str, events: list[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        # Small batches and large ones, as a relay writes under light and heavy load.
        pending = []
        for n, event in enumerate(events):
            key, headers, value = event.to_kafka()
            pending.append(await producer.send(topic, value, key=key, headers=headers))
            if n % 37 == 0:
                await producer.flush()
        for future in pending:
            await future
    finally:
        await producer.stop()


async def _dump(pool: asyncpg.Pool, report: RebuildReport) -> dict[str, list[str]]:
    """Every table of the rebuilt generation, rows as text, sorted."""
    schema = f"rm_{report.projection}_{report.new_generation}"
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    dumped: dict[str, list[str]] = {}
    for (table,) in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM {schema}."{table}" t ORDER BY 1')
        dumped[table] = [r["row"] for r in rows]
    return dumped


async def test_a_parallel_rebuild_leaves_the_tables_of_an_event_by_event_rebuild(
    pool: asyncpg.Pool, db_url: str, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    await migrate(pool, ["passend_backbone.migrations", "passend_assignment.migrations"])
    names = (
        f"parity.assignment.{uuid.uuid4().hex[:8]}",
        f"parity.trajectory.{uuid.uuid4().hex[:8]}",
    )
    await kafka_io.ensure_topics(broker.bootstrap_servers, list(names))
    assignment, trajectory, poison = _events(random.Random(20270301))
    await _publish(broker.bootstrap_servers, names[0], assignment)
    await _publish(broker.bootstrap_servers, names[1], trajectory)
    total = len(assignment) + len(trajectory)
    common = {"pool": pool, "bootstrap": broker.bootstrap_servers, "kind": broker.kind}

    serial = await rebuild(service="parity", projection=OneByOne("board_serial", names), **common)
    assert not isinstance(OneByOne("x", names), RawBatchProjection)
    fast = Fast("board_fast", names)
    assert isinstance(fast, RawBatchProjection)
    single = await rebuild(service="parity", projection=fast, max_records=64, **common)
    assert Fast.raw_batches > 1 and Fast.raw_events > total // 2  # the raw path did the bulk
    # The poisoned event came in a shape already validated: its batch failed raw (the cast)
    # and was applied through the contract, which named the event.
    assert "rebuild.raw_batch_failed" in capsys.readouterr().out
    parallel = await rebuild(
        service="parity",
        projection=Fast("board_parallel", names),
        workers=2,
        database_url=db_url,
        max_records=64,
        **common,
    )

    # The parallel rebuild really read the bulk in two forked processes (it reads in-process
    # when it can't fork, which would leave this test comparing two in-process rebuilds).
    assert parallel.workers == 2
    assert serial.workers == single.workers == 1

    failed = {(f.topic, f.partition, f.offset, f.stage) for f in serial.failed}
    assert len(failed) == 1 and next(iter(failed))[3] == "parse"
    for report in (serial, single, parallel):
        assert report.records == total
        assert {(f.topic, f.partition, f.offset, f.stage) for f in report.failed} == failed
        assert poison in report.failed[0].reason or "routed_at" in report.failed[0].reason
    expected = await _dump(pool, serial)
    assert set(expected) == {"cases", "handled", "consumed"}
    assert len(expected["cases"]) == CASES  # the poisoned case still has its other events
    assert await _dump(pool, single) == expected
    assert await _dump(pool, parallel) == expected
