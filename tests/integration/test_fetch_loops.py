"""A service's consumers read in its fetch loops, each as if it were a group of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from passend_backbone.consumer.loops import LIVE, OWN
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import migrate
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    POISON,
    CountingProjection,
    committed_total,
    consent_requested,
    counts,
    create_topic,
    produce,
    read_topic,
)

pytestmark = pytest.mark.integration


class Tolerant(CountingProjection):
    """Counts every event, the poisoned one too (another projection's bug is not its)."""

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        key = str(event.id)
        self.handle_calls[key] = self.handle_calls.get(key, 0) + 1
        await conn.execute(
            "INSERT INTO counts (case_id, n, last_event) VALUES ($1, 1, $2) "
            "ON CONFLICT (case_id) DO UPDATE SET n = counts.n + 1, last_event = $2",
            event.subject,
            event.id,
        )


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await migrate(pool, ["passend_backbone.migrations"])
    return pool


@pytest.fixture
async def topic(broker: Broker, topic_name: str) -> str:
    await create_topic(broker.bootstrap_servers, topic_name)
    return topic_name


@pytest.fixture
async def running(db: asyncpg.Pool, broker: Broker) -> AsyncIterator[list[Consumers]]:
    started: list[Consumers] = []
    yield started
    for runner in started:
        await runner.stop()


def runner(
    db: asyncpg.Pool, broker: Broker, *projections: CountingProjection, own: str | None = None
) -> Consumers:
    return Consumers(
        service="svc",
        pool=db,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
        projections=projections,
        own_topic=own,
    )


async def test_one_loop_serves_two_projections_and_sets_aside_only_for_the_one_that_fails(
    db: asyncpg.Pool, broker: Broker, topic: str, running: list[Consumers]
) -> None:
    case = uuid.uuid4()
    poison = consent_requested(case, requested_by=POISON)
    events = [consent_requested(case), poison, consent_requested(case)]
    await produce(broker.bootstrap_servers, broker.kind, topic, events)
    tolerant = Tolerant(topic, name="all_counts")
    strict = CountingProjection(topic)  # raises for the poison
    consumers = runner(db, broker, tolerant, strict)
    assert [(loop.name, [m.name for m in loop.members]) for loop in consumers.loops()] == [
        (LIVE, ["all_counts", "case_counts"])
    ]
    await consumers.start()
    running.append(consumers)

    async def committed() -> bool:
        return await committed_total(broker.bootstrap_servers, "svc.live", topic) == 3

    await eventually(committed, what="the loop committed all three")
    assert await counts(db, "all_counts") == {str(case): 3}
    assert await counts(db, "case_counts") == {str(case): 2}
    # The failing one was retried (the batch came again); the other applied it once.
    assert strict.handle_calls[str(poison.id)] == 3
    assert tolerant.handle_calls[str(poison.id)] == 1
    dead = await read_topic(
        broker.bootstrap_servers, topics.dead_letter(topic, "svc.case_counts"), expected=1
    )
    assert [r.value for r in dead] == [poison.to_kafka()[2]]
    none = await read_topic(
        broker.bootstrap_servers, topics.dead_letter(topic, "svc.all_counts"), expected=1, timeout=2
    )
    assert none == []
    assert consumers.lag() == {"all_counts": 0, "case_counts": 0}


async def test_a_projection_added_later_reads_the_topic_from_its_beginning(
    db: asyncpg.Pool, broker: Broker, topic: str, running: list[Consumers]
) -> None:
    cases = [uuid.uuid4() for _ in range(4)]
    first = [consent_requested(c) for c in cases for _ in range(3)]
    await produce(broker.bootstrap_servers, broker.kind, topic, first)
    before = runner(db, broker, CountingProjection(topic))
    await before.start()

    async def committed(n: int) -> bool:
        return await committed_total(broker.bootstrap_servers, "svc.live", topic) == n

    await eventually(lambda: committed(len(first)), what="the first version read all")
    await before.stop()

    # The next version has a second projection in the same loop.
    counting, added = CountingProjection(topic), Tolerant(topic, name="all_counts")
    after = runner(db, broker, counting, added)
    await after.start()
    running.append(after)
    later = [consent_requested(c) for c in cases]
    await produce(broker.bootstrap_servers, broker.kind, topic, later)
    want = {str(c): 4 for c in cases}

    async def both_complete() -> bool:
        return await counts(db, "all_counts") == want and await counts(db, "case_counts") == want

    await eventually(both_complete, what="the new projection caught up from offset 0")
    await eventually(lambda: committed(len(first) + len(later)), what="offsets committed")
    assert await counts(db, "case_counts") == want  # the rewind doubled nothing
    assert counting.handle_calls  # the rewound records came to the old one too ...
    async with db.acquire() as conn:
        handled = await conn.fetchval("SELECT count(*) FROM rm_case_counts_1.handled")
        listed = await conn.fetch(
            "SELECT DISTINCT consumer FROM public.loop_members WHERE loop_group = 'svc.live'"
        )
    assert handled == len(first) + len(later)  # ... and found their handled marks
    assert sorted(r["consumer"] for r in listed) == ["all_counts", "case_counts"]


async def test_a_projection_of_the_own_topic_reads_it_in_the_lazy_loop(
    db: asyncpg.Pool, broker: Broker, topic: str, running: list[Consumers]
) -> None:
    own = f"{topic}.own"
    await create_topic(broker.bootstrap_servers, own)
    projection = CountingProjection(topic)
    projection.topics = (own, topic)  # its service's own topic and another one
    consumers = runner(db, broker, projection, own=own)
    assert [(loop.name, loop.topics) for loop in consumers.loops()] == [
        (LIVE, (topic,)),
        (OWN, (own,)),
    ]
    await consumers.start()
    running.append(consumers)
    case = uuid.uuid4()
    await produce(broker.bootstrap_servers, broker.kind, topic, [consent_requested(case)])
    await produce(broker.bootstrap_servers, broker.kind, own, [consent_requested(case)])

    async def both() -> bool:
        return await counts(db) == {str(case): 2}

    await eventually(both, what="events of both topics applied")

    async def committed(group: str, name: str) -> bool:
        return await committed_total(broker.bootstrap_servers, group, name) == 1

    await eventually(lambda: committed("svc.live", topic), what="the live loop committed")
    await eventually(lambda: committed("svc.own", own), what="the lazy loop committed")
