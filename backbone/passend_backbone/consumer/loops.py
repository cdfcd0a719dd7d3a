"""One fetch loop for many consumers: what a service asks of the broker.

A service's projections and reactors don't each join a consumer group of their own: every
consumer group fetches every partition it reads over and over, and a broker's work grows
with the groups reading a topic. A service has one **live** loop for what it reads (one
group, ``<service>.live``) and hands each fetched batch to each of its consumers (the
loop's *members*) that read the record's topic, each in its own transaction with its own
handled marks, as a group of its own would. The offsets are committed once every member's
transaction committed.

Its own topic is read by a second, **lazy** loop (``<service>.own``) for the projections
that the appending transaction applies already (:mod:`passend_backbone.consumer.inline`):
there the consumer only confirms that every event got there (an append without the inline
step, one whose step failed) and keeps the ``consumed`` offsets a rebuild's swap waits for,
so it asks the broker for records once a second rather than as they come.

What a member's own group did, per member:

- **Failures.** A member that fails because of one record is retried and, after
  ``retries`` failures, that record is set aside to the member's own dead-letter topic
  (``passend.dlq.<topic>.<service>.<member>``); the other members apply it. The batch is
  rewound for the retry; the members that applied it already find their handled marks.
- **Joining late.** A member new to a loop (a projection or reactor added in a later
  version) reads every partition from the beginning, as a new group would: when a
  partition the group has read from is assigned to the loop and ``public.loop_members``
  lists other members for it but not this one, the loop rewinds that partition, and
  lists them once the rewound position was committed (a crash before that rewinds it
  again; the others skip what they handled). A database that lists no member of the loop
  yet starts where the group stands.
- **Lag and progress** per member, from its own committed records.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream.message import StreamMessage

from passend_backbone.consumer.deliveries import Delivery as Parsed
from passend_backbone.consumer.deliveries import event_type_of, parse_record
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_consumerkit.delivery import Delivery, Failure, RecordFailed, record_key

# The loops' names: the last part of their consumer groups.
LIVE = "live"
OWN = "own"
LOOPS = (LIVE, OWN)

Key = tuple[str, int, int]


def loop_group(service: str, loop: str) -> str:
    """The consumer group of one of ``service``'s fetch loops."""
    return f"{service}.{loop}"


@dataclass
class Member:
    """A projection or reactor in one loop: the topics it reads there, its delivery state."""

    consumer: Projection | Reactor
    topics: frozenset[str]  # as on the broker (prefixed)
    delivery: Delivery

    @property
    def name(self) -> str:
        return self.consumer.name


class MemberFailed(Exception):
    """One member failed because of one record: that member's policy decides."""

    def __init__(self, member: Member, failure: RecordFailed) -> None:
        super().__init__(f"{member.name}: {failure}")
        self.member = member
        self.failure = failure


@dataclass
class Share:
    """One member's part of a fetched batch."""

    member: Member
    records: list[Any]  # every record of its topics (its offsets move past all of them)
    parsed: list[Parsed]  # to apply
    aside: list[Failure]  # to set aside: unparsable, or failed too often
    unknown: list[str] = field(default_factory=list)  # event types it skips


@dataclass
class Loop:
    """One consumer group of a service and its members."""

    name: str
    group: str
    topics: tuple[str, ...]  # as the service names them (without prefix)
    members: list[Member]
    delivery: Delivery  # the loop's own: failures that name no member

    async def failed(self, message: StreamMessage[Any], exc: BaseException) -> None:
        """A member's failure counts against that member's record; others against the loop."""
        if isinstance(exc, MemberFailed):
            await exc.member.delivery.failed(message, exc.failure)
        else:
            await self.delivery.failed(message, exc)

    def succeeded(self) -> None:
        self.delivery.succeeded()
        for member in self.members:
            member.delivery.succeeded()

    def shares(self, records: Sequence[Any]) -> list[Share]:
        """Each member's part of ``records``, every record parsed once."""
        parsed: dict[Key, Parsed | Failure | None] = {}
        collecting = gc.isenabled()
        gc.disable()  # parsing makes many objects: collect once afterwards
        try:
            for record in records:
                parsed[record_key(record)] = parse_record(record)
        finally:
            if collecting:
                gc.enable()
        shares = []
        for member in self.members:
            mine = [r for r in records if r.topic in member.topics]
            if not mine:
                continue
            todo, aside = member.delivery.split(mine)
            share = Share(member, mine, [], list(aside))
            for record in todo:
                result = parsed[record_key(record)]
                if result is None:
                    share.unknown.append(event_type_of(record))
                elif isinstance(result, Failure):
                    share.aside.append(result)
                else:
                    share.parsed.append(result)
            # In the order they came, so the dead-letter topic reads like the source.
            share.aside.sort(key=lambda f: record_key(f.record))
            shares.append(share)
        return shares


class Membership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rewinds a partition for members new to the loop; lists them once that is committed.

    ``public.loop_members`` has a row per (group, member, topic, partition) that the loop
    read from the beginning for that member.
    """

    def __init__(self, loop: Loop, pool: asyncpg.Pool, log: Any) -> None:
        self.loop = loop
        self.pool = pool
        self.log = log
        self.subscriber: Any = None  # the loop's; its consumer exists once it started
        self.joining: dict[TopicPartition, set[str]] = {}

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            self.joining.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        consumer = getattr(self.subscriber, "consumer", None)
        if not assigned or consumer is None:
            return
        listed = await self._listed()
        for tp in assigned:
            wanted = {m.name for m in self.loop.members if tp.topic in m.topics}
            new = wanted - (listed or {}).get((tp.topic, tp.partition), set())
            if not new:
                continue
            self.joining[tp] = wanted
            if listed is not None and not await self._behind_the_group(consumer, tp, listed):
                continue
            await consumer.seek_to_beginning(tp)
            self.log.info(
                "consumer.loop_rewound_for_new_members",
                group=self.loop.group,
                topic=tp.topic,
                partition=tp.partition,
                members=sorted(new),
            )

    @staticmethod
    async def _behind_the_group(
        consumer: Any, tp: TopicPartition, listed: dict[tuple[str, int], set[str]]
    ) -> bool:
        """Whether a new member would miss what the group read of ``tp`` before it came.

        Not when the group has read nothing there yet (it starts from the beginning), nor
        when this database never listed a member of the loop: its consumers start where
        the group stands, as before there were loops (a new database beside a group that
        read on, as in tests, or the first start with loops, whose groups are new).
        """
        if not listed:
            return False
        return await consumer.committed(tp) is not None

    async def _listed(self) -> dict[tuple[str, int], set[str]] | None:
        """The members listed per (topic, partition); ``None`` when the database can't say.

        Asked while the group assigns partitions: a database that doesn't answer after a
        few tries makes every partition rewind (the members skip what they handled)
        rather than a new member miss the events before its first batch.
        """
        for wait in (0.2, 0.5, 1.0, None):
            try:
                rows = await self.pool.fetch(
                    "SELECT topic, partition, array_agg(consumer) AS members "
                    "FROM public.loop_members WHERE loop_group = $1 GROUP BY topic, partition",
                    self.loop.group,
                )
                return {(r["topic"], r["partition"]): set(r["members"]) for r in rows}
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.log.warning("consumer.loop_members_unreadable", error=repr(exc))
                if wait is not None:
                    await asyncio.sleep(wait)
        return None

    async def committed(self, records: Sequence[Any]) -> None:
        """``records`` and the positions after them are committed: list the members of
        each rewound partition those records came from (read from its beginning since)."""
        if not self.joining:
            return
        came = {TopicPartition(r.topic, r.partition) for r in records}
        done = {tp: members for tp, members in self.joining.items() if tp in came}
        if not done:
            return
        joined = [(tp, member) for tp, members in done.items() for member in members]
        await self.pool.execute(
            "INSERT INTO public.loop_members (loop_group, consumer, topic, partition) "
            "SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[]) "
            "ON CONFLICT DO NOTHING",
            self.loop.group,
            [member for _, member in joined],
            [tp.topic for tp, _ in joined],
            [tp.partition for tp, _ in joined],
        )
        for tp in done:
            self.joining.pop(tp, None)
