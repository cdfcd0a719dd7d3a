"""The consumer runner applies each event once, commits after the database, and dead-letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import migrate
from passend_consumerkit.delivery import DLQ_ERROR, DLQ_OFFSET, DLQ_STAGE, DLQ_TOPIC
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    POISON,
    BatchCountingProjection,
    CountingProjection,
    committed_total,
    consent_requested,
    counts,
    create_topic,
    produce,
    read_topic,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await migrate(pool, ["passend_backbone.migrations"])
    return pool


@pytest.fixture
async def topic(broker: Broker, topic_name: str) -> str:
    await create_topic(broker.bootstrap_servers, topic_name)
    return topic_name


class Recorder:
    """A logger that remembers the event names it was given."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def bind(self, **_: object) -> Recorder:
        return self

    def _record(self, event: str, *_: object, **__: object) -> None:
        self.events.append(event)

    info = warning = error = exception = debug = _record


class Runners:
    """Starts runners for a test and stops whatever is still running at its end."""

    def __init__(self, pool: asyncpg.Pool, broker: Broker) -> None:
        self.pool = pool
        self.broker = broker
        self.running: list[Consumers] = []

    async def start(
        self,
        service: str,
        *projections: CountingProjection,
        retries: int = 3,
        log: Recorder | None = None,
    ) -> Consumers:
        runner = Consumers(
            service=service,
            pool=self.pool,
            bootstrap=self.broker.bootstrap_servers,
            kind=self.broker.kind,  # type: ignore[arg-type]
            projections=projections,
            retries=retries,
            log=log,
        )
        await runner.start()
        self.running.append(runner)
        return runner

    async def stop(self, runner: Consumers) -> None:
        self.running.remove(runner)
        await runner.stop()


@pytest.fixture
async def runners(db: asyncpg.Pool, broker: Broker) -> AsyncIterator[Runners]:
    r = Runners(db, broker)
    yield r
    for runner in list(r.running):
        await r.stop(runner)


def expected_counts(events: list[CloudEvent]) -> dict[str, int]:
    seen: set[uuid.UUID] = set()
    result: dict[str, int] = {}
    for e in events:
        if e.id not in seen:
            seen.add(e.id)
            result[e.subject] = result.get(e.subject, 0) + 1
    return result


def stream(cases: int, per_case: int) -> list[CloudEvent]:
    ids = [uuid.uuid4() for _ in range(cases)]
    return [consent_requested(c) for _ in range(per_case) for c in ids]


async def test_events_are_applied_and_offsets_committed(
    runners: Runners, broker: Broker, topic: str
) -> None:
    events = stream(cases=5, per_case=8)
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    runner = await runners.start("svc", CountingProjection(topic))

    want = expected_counts(events)

    async def applied() -> bool:
        return await counts(runners.pool) == want

    await eventually(applied, what="all events applied")
    await eventually(
        lambda: _committed_is(broker, "svc.live", topic, len(events)),
        what="offsets committed",
    )
    await eventually(lambda: _true(runner.lag() == {"case_counts": 0}), what="no lag")
    async with read_model(runners.pool, "case_counts") as conn:
        assert await conn.fetchval("SELECT count(*) FROM handled") == len(events)
        assert await conn.fetchval("SELECT current_schema()") == "rm_case_counts_1"


async def test_redelivered_and_republished_events_change_nothing(
    runners: Runners, broker: Broker, topic: str
) -> None:
    events = stream(cases=4, per_case=5)
    republished = events[:5]  # the outbox relay may publish an event twice
    await produce(broker.bootstrap_servers, broker.kind, topic, events + republished)
    records = len(events) + len(republished)
    first = await runners.start("first", CountingProjection(topic))
    await eventually(lambda: _committed_is(broker, "first.live", topic, records))
    want = expected_counts(events)
    assert await counts(runners.pool) == want
    await runners.stop(first)

    # A new group reads everything again into the same generation.
    again = CountingProjection(topic)
    await runners.start("second", again)
    await eventually(lambda: _committed_is(broker, "second.live", topic, records))
    assert await counts(runners.pool) == want
    assert again.handle_calls == {}


async def test_a_failing_handler_is_retried_and_its_event_not_lost(
    runners: Runners, broker: Broker, topic: str
) -> None:
    events = stream(cases=2, per_case=3)
    flaky = CountingProjection(topic)
    failures_left = {str(events[2].id): 2}
    original = flaky.handle

    async def handle(conn, event, payload):
        if failures_left.get(str(event.id), 0) > 0:
            failures_left[str(event.id)] -= 1
            raise asyncpg.SerializationError("could not serialize access")
        await original(conn, event, payload)

    flaky.handle = handle  # type: ignore[method-assign]
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    await runners.start("svc", flaky, retries=3)
    await eventually(lambda: _committed_is(broker, "svc.live", topic, len(events)))
    assert await counts(runners.pool) == expected_counts(events)
    assert failures_left[str(events[2].id)] == 0


async def test_an_unreachable_database_is_waited_out_not_dead_lettered(
    runners: Runners, broker: Broker, topic: str
) -> None:
    events = stream(cases=1, per_case=2)
    outage = CountingProjection(topic)
    failures_left = [4]
    original = outage.handle

    async def handle(conn, event, payload):
        if failures_left[0] > 0:
            failures_left[0] -= 1
            raise ConnectionResetError("connection reset by peer")
        await original(conn, event, payload)

    outage.handle = handle  # type: ignore[method-assign]
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    await runners.start("svc", outage, retries=1)
    await eventually(lambda: _committed_is(broker, "svc.live", topic, len(events)))
    assert failures_left == [0]
    assert await counts(runners.pool) == expected_counts(events)


async def test_a_batch_that_fails_outside_the_handler_comes_again(
    runners: Runners, broker: Broker, topic: str
) -> None:
    first = stream(cases=1, per_case=2)
    await produce(broker.bootstrap_servers, broker.kind, topic, first)
    log = Recorder()
    await runners.start("svc", CountingProjection(topic), log=log)
    await eventually(lambda: _committed_is(broker, "svc.live", topic, len(first)))

    # Point the projection at a generation without tables: every batch fails and rewinds.
    await runners.pool.execute("UPDATE projection_generations SET active = 99")
    later = stream(cases=2, per_case=3)
    await produce(broker.bootstrap_servers, broker.kind, topic, later)
    await eventually(
        lambda: _true(log.events.count("consumer.batch_failed") >= 2), what="batch failed twice"
    )
    assert await committed_total(broker.bootstrap_servers, "svc.live", topic) < len(first + later)
    await runners.pool.execute("UPDATE projection_generations SET active = 1")

    await eventually(lambda: _committed_is(broker, "svc.live", topic, len(first + later)))
    assert await counts(runners.pool) == expected_counts(first + later)


async def test_malformed_and_failing_events_go_to_the_dead_letter_topic(
    runners: Runners, broker: Broker, topic: str
) -> None:
    case = uuid.uuid4()
    good_before = consent_requested(case)
    poison = consent_requested(case, requested_by=POISON)
    future = consent_requested(case).model_copy(update={"type": "nl.passend.future.Thing.v1"})
    good_after = consent_requested(case)
    key, headers, _ = good_before.to_kafka()
    no_id = [(k, v) for k, v in headers if k != "ce_id"]
    # One key, so one partition: the later event comes after every bad one.
    await produce(broker.bootstrap_servers, broker.kind, topic, [good_before])
    await produce(
        broker.bootstrap_servers,
        broker.kind,
        topic,
        [],
        raw=[(key, headers, b"{not json"), (key, no_id, b"{}")],
    )
    await produce(broker.bootstrap_servers, broker.kind, topic, [poison, future, good_after])
    projection = CountingProjection(topic)
    await runners.start("svc", projection, retries=3)

    await eventually(lambda: _committed_is(broker, "svc.live", topic, 6))
    assert await counts(runners.pool) == {str(case): 2}
    assert projection.handle_calls[str(poison.id)] == 3
    assert str(future.id) not in projection.handle_calls  # unknown type: skipped, not failed

    dead = await read_topic(
        broker.bootstrap_servers, topics.dead_letter(topic, "svc.case_counts"), expected=3
    )
    assert len(dead) == 3
    reasons = [dict(r.headers) for r in dead]
    assert [h[DLQ_STAGE] for h in reasons] == [b"parse", b"parse", b"handle"]
    assert b"not JSON" in reasons[0][DLQ_ERROR]
    assert b"id" in reasons[1][DLQ_ERROR]
    assert b"Poisoned" in reasons[2][DLQ_ERROR]
    assert {h[DLQ_TOPIC] for h in reasons} == {topic.encode()}
    assert [int(h[DLQ_OFFSET]) for h in reasons] == [1, 2, 3]
    assert dead[2].value == poison.to_kafka()[2]
    async with read_model(runners.pool, "case_counts") as conn:
        handled = await conn.fetchval("SELECT count(*) FROM handled WHERE event_id = $1", poison.id)
    assert handled == 0  # dead-lettered, so a replay from the DLQ applies it


async def test_a_batch_projection_applies_each_batch_at_once(
    runners: Runners, broker: Broker, topic: str
) -> None:
    events = stream(cases=3, per_case=4)
    redelivered = events[:5]  # the same events again: each still counts once
    projection = BatchCountingProjection(topic)
    await produce(broker.bootstrap_servers, broker.kind, topic, events + redelivered)
    await runners.start("svc", projection)
    await eventually(lambda: _committed_is(broker, "svc.live", topic, len(events + redelivered)))
    assert await counts(runners.pool) == expected_counts(events)
    assert projection.batches  # the batch path ran ...
    assert projection.handle_calls == {}  # ... and the one-event path did not
    async with read_model(runners.pool, "case_counts") as conn:
        last = await conn.fetch("SELECT case_id, last_event FROM counts")
    last_of_case = {e.subject: e.id for e in events}  # per case order held within a batch
    assert {r["case_id"]: r["last_event"] for r in last} == last_of_case


async def test_a_failing_batch_is_applied_event_by_event_and_the_poison_dead_lettered(
    runners: Runners, broker: Broker, topic: str
) -> None:
    case = uuid.uuid4()
    before = [consent_requested(case) for _ in range(3)]
    poison = consent_requested(case, requested_by=POISON)
    after = [consent_requested(case) for _ in range(3)]
    # One produce, one partition: the poison arrives inside a batch with the others.
    await produce(broker.bootstrap_servers, broker.kind, topic, [*before, poison, *after])
    projection = BatchCountingProjection(topic)
    await runners.start("svc", projection, retries=3)

    await eventually(lambda: _committed_is(broker, "svc.live", topic, 7))
    assert await counts(runners.pool) == {str(case): 6}
    assert projection.handle_calls[str(poison.id)] == 3
    assert projection.batches  # the poison came inside a batch, which was undone
    dead = await read_topic(
        broker.bootstrap_servers, topics.dead_letter(topic, "svc.case_counts"), expected=1
    )
    assert [r.value for r in dead] == [poison.to_kafka()[2]]
    assert dict(dead[0].headers)[DLQ_STAGE] == b"handle"
    async with read_model(runners.pool, "case_counts") as conn:
        handled = await conn.fetchval("SELECT count(*) FROM handled")
    assert handled == 6  # the poison's mark went with its transaction


async def test_stop_finishes_and_commits_the_batch_in_hand(
    runners: Runners, broker: Broker, topic: str
) -> None:
    events = stream(cases=3, per_case=4)
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    projection = CountingProjection(topic)
    projection.gate = asyncio.Event()
    runner = await runners.start("svc", projection)
    await eventually(lambda: _true(projection.gate_reached.is_set()), what="batch in hand")

    stopping = asyncio.create_task(runners.stop(runner))
    done, _ = await asyncio.wait({stopping}, timeout=0.5)
    assert not done, "stop returned while a batch was still being handled"
    projection.gate.set()
    await asyncio.wait_for(stopping, timeout=30)

    applied = sum((await counts(runners.pool)).values())
    assert applied > 0
    assert await committed_total(broker.bootstrap_servers, "svc.live", topic) == applied


async def test_reading_a_projection_that_was_never_set_up_says_so(db: asyncpg.Pool) -> None:
    with pytest.raises(ProjectionNotSetUp, match="no read model"):
        async with read_model(db, "nowhere"):
            pass


async def _committed_is(broker: Broker, group: str, topic: str, total: int) -> bool:
    return await committed_total(broker.bootstrap_servers, group, topic) == total


async def _true(value: bool) -> bool:
    return value
