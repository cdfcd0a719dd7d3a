"""A fetch loop hands each consumer its part of a batch; a loop that can't read its members
rewinds rather than let a new one miss events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import TopicPartition

from passend_backbone.consumer.loops import Loop, Member, Membership
from passend_consumerkit.delivery import Delivery
from tests.unit.backbone.test_consumers_in_memory import Acknowledger, consent_requested

INTAKE, ASSIGNMENT = "t.intake", "t.assignment"


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: int = 0


def record(topic: str, offset: int, *, event_type: str | None = None) -> Record:
    key, headers, value = consent_requested(uuid.uuid4(), event_type=event_type).to_kafka()
    return Record(topic, 0, offset, key, value, list(headers))


def member(name: str, *topics: str) -> Member:
    reactor = Acknowledger()
    reactor.name = name
    return Member(reactor, frozenset(topics), Delivery(name, f"t.{name}"))


def loop(*members: Member) -> Loop:
    return Loop("live", "t.live", (INTAKE, ASSIGNMENT), list(members), Delivery("t", "t.live"))


def test_each_member_gets_the_records_of_its_topics_parsed() -> None:
    both, one = member("both", INTAKE, ASSIGNMENT), member("one", ASSIGNMENT)
    batch = [record(INTAKE, 0), record(ASSIGNMENT, 0), record(ASSIGNMENT, 1)]
    shares = {s.member.name: s for s in loop(both, one).shares(batch)}
    assert [r.offset for r in shares["both"].records] == [0, 0, 1]
    assert [d.record for d in shares["both"].parsed] == batch
    assert shares["one"].records == batch[1:]
    assert [d.record for d in shares["one"].parsed] == batch[1:]
    # One parse per record, shared: both members hold the same parsed event.
    assert shares["one"].parsed[0] is shares["both"].parsed[1]


def test_a_member_with_no_record_of_its_topics_gets_no_share() -> None:
    shares = loop(member("both", INTAKE, ASSIGNMENT), member("one", ASSIGNMENT)).shares(
        [record(INTAKE, 0)]
    )
    assert [s.member.name for s in shares] == ["both"]


def test_what_one_member_failed_too_often_goes_aside_for_that_member_only() -> None:
    failing, other = member("failing", INTAKE), member("other", INTAKE)
    batch = [record(INTAKE, 0), record(INTAKE, 1), record(INTAKE, 2)]
    failing.delivery.exhausted[(INTAKE, 0, 1)] = RuntimeError("bug")
    shares = {s.member.name: s for s in loop(failing, other).shares(batch)}
    assert [f.record.offset for f in shares["failing"].aside] == [1]
    assert [d.record.offset for d in shares["failing"].parsed] == [0, 2]
    assert shares["other"].aside == []
    assert [d.record.offset for d in shares["other"].parsed] == [0, 1, 2]


def test_unparsable_and_unknown_records_are_told_per_member() -> None:
    broken = Record(INTAKE, 0, 0, b"k", b"{not json", [("ce_type", b"x")])
    future = record(INTAKE, 1, event_type="nl.passend.future.Thing.v1")
    [share] = loop(member("one", INTAKE)).shares([broken, future])
    assert [(f.record.offset, f.stage) for f in share.aside] == [(0, "parse")]
    assert share.unknown == ["nl.passend.future.Thing.v1"]
    assert share.parsed == []


class Silent:
    """A log that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, event: str, **_: Any) -> None:
        self.lines.append(event)

    info = warning


class DownPool:
    def __init__(self) -> None:
        self.asked = 0

    async def fetch(self, *_: Any) -> list[Any]:
        self.asked += 1
        raise asyncpg.CannotConnectNowError("the database system is starting up")


class Consumer:
    def __init__(self) -> None:
        self.rewound: list[TopicPartition] = []

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.rewound.append(tp)


@dataclass
class Subscriber:
    consumer: Consumer


async def test_a_loop_that_cannot_read_its_members_rewinds_every_partition(
    monkeypatch: Any,
) -> None:
    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr("passend_backbone.consumer.loops.asyncio.sleep", no_wait)
    pool, log, consumer = DownPool(), Silent(), Consumer()
    membership = Membership(loop(member("one", INTAKE)), pool, log)
    membership.subscriber = Subscriber(consumer)
    assigned = {TopicPartition(INTAKE, 0), TopicPartition(INTAKE, 1)}
    await membership.on_partitions_assigned(assigned)
    assert pool.asked == 4  # tried, then rewound rather than guess
    assert set(consumer.rewound) == assigned
    assert set(membership.joining) == assigned
    assert log.lines.count("consumer.loop_members_unreadable") == 4


class ListingPool:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    async def fetch(self, *_: Any) -> list[dict[str, Any]]:
        return self.rows


class CommittedConsumer(Consumer):
    def __init__(self, committed: dict[TopicPartition, int]) -> None:
        super().__init__()
        self.offsets = committed

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.offsets.get(tp)


async def rewound_for(rows: list[dict[str, Any]], committed: dict[TopicPartition, int]) -> Any:
    consumer = CommittedConsumer(committed)
    membership = Membership(
        loop(member("old", INTAKE), member("new", INTAKE)), ListingPool(rows), Silent()
    )
    membership.subscriber = Subscriber(consumer)
    await membership.on_partitions_assigned({TopicPartition(INTAKE, 0)})
    return consumer.rewound, membership.joining


async def test_a_member_new_to_a_partition_the_group_read_from_rewinds_it() -> None:
    tp = TopicPartition(INTAKE, 0)
    rows = [{"topic": INTAKE, "partition": 0, "members": ["old"]}]
    rewound, joining = await rewound_for(rows, {tp: 7})
    assert rewound == [tp]
    assert joining == {tp: {"old", "new"}}


async def test_no_rewind_where_the_group_read_nothing_or_nobody_was_listed_yet() -> None:
    tp = TopicPartition(INTAKE, 0)
    rows = [{"topic": INTAKE, "partition": 0, "members": ["old"]}]
    rewound, joining = await rewound_for(rows, {})  # the group starts at the beginning
    assert rewound == []
    assert joining == {tp: {"old", "new"}}  # listed once its first batch is committed
    rewound, joining = await rewound_for([], {tp: 7})  # a database new to the loop
    assert rewound == []
    assert joining == {tp: {"old", "new"}}
    rewound, _ = await rewound_for(
        [{"topic": INTAKE, "partition": 0, "members": ["old", "new"]}], {tp: 7}
    )
    assert rewound == []
