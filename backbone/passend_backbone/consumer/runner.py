"""The consumer runner: one Kafka consumer group per projection and per reactor.

Delivery is at-least-once, made exactly-once in effect by the database: a batch of records
is applied in one transaction that also marks each event handled, and the Kafka offsets
are committed only after that transaction committed. A process that dies anywhere leaves
either nothing (the batch comes again) or the committed transaction without the offset
commit (the batch comes again and changes nothing). A record that can't be parsed, or
whose handler keeps raising, goes to the dead-letter topic with the reason before its
offset is committed, and consumption goes on.

The runner drives ``aiokafka.AIOKafkaConsumer`` directly rather than through FastStream
subscribers. In FastStream 0.7.8 ``AckPolicy.ACK`` commits even when the handler raised
(``faststream/middlewares/acknowledgement/middleware.py``: the ``AckPolicy.ACK`` branch of
``__aexit__``), which loses the event; ``NACK_ON_ERROR`` rewinds but retries forever with
no dead-letter step; and an acknowledgement is ``consumer.commit()`` of every consumed
position. With ``AckPolicy.MANUAL`` the bounded retries, the dead-lettering, the rewind
after a failed batch and the commit of exactly the applied offsets would all be ours
anyway, leaving FastStream only the ``getmany`` loop; owning that loop keeps the whole
delivery guarantee readable in this module.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from passend_backbone.consumer.apply import (
    Stopping,
    apply_projection,
    apply_reactor,
    apply_with_retries,
    default_log,
    record_consumed,
)
from passend_backbone.consumer.deliveries import (
    Delivery,
    Failure,
    dead_letter_headers,
    parse_records,
)
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_backbone.consumer.schema import (
    ProjectionNotSetUp,
    check_consumer_tables,
    check_name,
    ensure_projection,
    generation_schema,
    use_schema,
)
from passend_backbone.eventstore import EventStore
from passend_backbone.kafka_io import replication_factor
from passend_backbone.kafka_settings import (
    BrokerKind,
    client_security_settings,
    consumer_settings,
    producer_settings,
)
from passend_contracts import topics as contract_topics


def group_id(service: str, consumer_name: str) -> str:
    """The Kafka consumer group of one projection or reactor of ``service``."""
    return f"{service}.{consumer_name}"


# Records per transaction at most. getmany returns what has arrived, so this only matters
# with a backlog, where a bigger batch spreads the per-batch statements, commit and offset
# commit over more events (a batch handler then writes each touched row once).
MAX_BATCH = 2000

# Told (consumer name, source topic) each time a record goes to a dead-letter topic.
DeadLetterHook = Callable[[str, str], None]


@dataclass(frozen=True)
class ConsumerProgress:
    """Where one projection or reactor stands, for the metrics."""

    name: str
    lag: dict[tuple[str, int], int]  # (topic, partition) -> records behind the highwater
    last_applied_ms: int | None  # broker timestamp of the last committed record


class ConsumerRunner:
    """Runs a service's projections and reactors until :meth:`stop`."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        bootstrap: str,
        kind: BrokerKind,
        projections: Sequence[Projection] = (),
        reactors: Sequence[Reactor] = (),
        store: EventStore | None = None,
        log: Any = None,
        retries: int = 3,
        poll_timeout_ms: int = 200,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        if reactors and store is None:
            raise ValueError("reactors append to the event store: pass store=EventStore(...)")
        names = [p.name for p in projections] + [r.name for r in reactors]
        if len(set(names)) != len(names):
            raise ValueError(f"projection and reactor names must be unique, got {names}")
        for name in names:
            check_name(name)
        self.service = service
        self._pool = pool
        self._bootstrap = bootstrap
        self._kind: BrokerKind = kind
        self._projections = tuple(projections)
        self._reactors = tuple(reactors)
        self._store = store
        self._log = log or default_log()
        self._retries = retries
        self._poll_timeout_ms = poll_timeout_ms
        self._on_dead_letter = on_dead_letter
        self._producer: AIOKafkaProducer | None = None
        self._loops: list[_ConsumerLoop] = []

    async def start(self) -> None:
        """Set up missing read models and dead-letter topics, join the groups, start consuming."""
        async with self._pool.acquire() as conn:
            await check_consumer_tables(conn)
        for projection in self._projections:
            await ensure_projection(self._pool, projection)
        await ensure_topics(
            self._bootstrap,
            [
                contract_topics.dead_letter(topic, group_id(self.service, name))
                for name, topics in self._subscriptions()
                for topic in topics
            ],
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            **producer_settings(self._kind),
            **client_security_settings(),
        )
        await self._producer.start()
        for projection in self._projections:
            self._loops.append(
                self._loop(projection.name, projection.topics, _ProjectionBody(projection))
            )
        store = self._store
        for reactor in self._reactors:
            assert store is not None
            self._loops.append(
                self._loop(reactor.name, reactor.topics, _ReactorBody(reactor, store))
            )
        for loop in self._loops:
            await loop.start()

    def _subscriptions(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(p.name, p.topics) for p in self._projections] + [
            (r.name, r.topics) for r in self._reactors
        ]

    def _loop(self, name: str, topics: tuple[str, ...], body: _BodyFactory) -> _ConsumerLoop:
        assert self._producer is not None
        return _ConsumerLoop(
            name=name,
            group=group_id(self.service, name),
            topics=topics,
            pool=self._pool,
            bootstrap=self._bootstrap,
            kind=self._kind,
            producer=self._producer,
            body=body,
            retries=self._retries,
            poll_timeout_ms=self._poll_timeout_ms,
            log=self._log.bind(consumer=name, service=self.service),
            on_dead_letter=self._on_dead_letter,
        )

    async def stop(self) -> None:
        """Finish and commit the batch in hand, leave the groups, close the producer."""
        loops, self._loops = self._loops, []
        for loop in loops:
            loop.request_stop()
        for loop in loops:
            await loop.wait_stopped()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def lag(self) -> dict[str, int]:
        """Records behind the fetch highwater per consumer (partitions fetched at least once)."""
        return {loop.name: loop.lag() for loop in self._loops}

    def progress(self) -> list[ConsumerProgress]:
        """Lag per partition and the last committed record's time, per consumer."""
        return [
            ConsumerProgress(loop.name, loop.lag_by_partition(), loop.last_applied_ms)
            for loop in self._loops
        ]

    @property
    def failed(self) -> BaseException | None:
        """The error that ended a consumer loop, if one ended on its own."""
        for loop in self._loops:
            if loop.task is not None and loop.task.done() and not loop.task.cancelled():
                exc = loop.task.exception()
                if exc is not None:
                    return exc
        return None


class _BodyFactory:
    """Builds the transaction body for one batch (records are needed for the offsets)."""

    async def __call__(
        self, conn: asyncpg.Connection, deliveries: Sequence[Delivery], records: Sequence[Any]
    ) -> None:
        raise NotImplementedError


class _ProjectionBody(_BodyFactory):
    def __init__(self, projection: Projection) -> None:
        self.projection = projection

    async def __call__(
        self, conn: asyncpg.Connection, deliveries: Sequence[Delivery], records: Sequence[Any]
    ) -> None:
        name = self.projection.name
        # FOR SHARE: a swap holds this row FOR UPDATE while the new generation catches up
        # with the old one, so no batch lands in the old generation after that.
        generation: int | None = await conn.fetchval(
            "SELECT active FROM public.projection_generations WHERE projection = $1 FOR SHARE",
            name,
        )
        if generation is None:
            raise ProjectionNotSetUp(name)
        await use_schema(conn, generation_schema(name, generation))
        await apply_projection(conn, self.projection, deliveries)
        await record_consumed(conn, records)


class _ReactorBody(_BodyFactory):
    def __init__(self, reactor: Reactor, store: EventStore) -> None:
        self.reactor = reactor
        self.store = store

    async def __call__(
        self, conn: asyncpg.Connection, deliveries: Sequence[Delivery], records: Sequence[Any]
    ) -> None:
        await apply_reactor(conn, self.reactor, self.store, deliveries)


class _ConsumerLoop:
    """One consumer group: fetch a batch, apply it in one transaction, dead-letter, commit."""

    def __init__(
        self,
        *,
        name: str,
        group: str,
        topics: tuple[str, ...],
        pool: asyncpg.Pool,
        bootstrap: str,
        kind: BrokerKind,
        producer: AIOKafkaProducer,
        body: _BodyFactory,
        retries: int,
        poll_timeout_ms: int,
        log: Any,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        self.name = name
        self.group = group
        self.topics = topics
        self._pool = pool
        self._bootstrap = bootstrap
        self._kind: BrokerKind = kind
        self._producer = producer
        self._body = body
        self._retries = retries
        self._poll_timeout_ms = poll_timeout_ms
        self._log = log
        self._on_dead_letter = on_dead_letter
        self._stopping = False
        self._next: dict[Any, int] = {}
        self.last_applied_ms: int | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self._bootstrap,
            group_id=self.group,
            client_id=self.group,
            **consumer_settings(self._kind),
            **client_security_settings(),
        )
        await self.consumer.start()
        self.task = asyncio.create_task(self._run(self.consumer), name=f"consumer:{self.group}")

    def request_stop(self) -> None:
        self._stopping = True

    async def wait_stopped(self) -> None:
        if self.task is not None:
            try:
                await self.task
            except Exception:
                self._log.exception("consumer.loop_failed")
        if self.consumer is not None:
            await self.consumer.stop()

    def lag(self) -> int:
        consumer = self.consumer
        if consumer is None:
            return 0
        total = 0
        for tp, next_offset in self._next.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                total += max(0, highwater - next_offset)
        return total

    def lag_by_partition(self) -> dict[tuple[str, int], int]:
        """Records behind the fetch highwater, per assigned partition fetched at least once.

        ``end_offsets`` can't be used (wrong on Tansu); the highwater of the last fetch can.
        A partition fetched but never committed here counts from its first fetched offset.
        """
        consumer = self.consumer
        if consumer is None:
            return {}
        lags: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            next_offset = self._next.get(tp, highwater)
            lags[(tp.topic, tp.partition)] = max(0, highwater - next_offset)
        return lags

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping:
            try:
                batch = await consumer.getmany(
                    timeout_ms=self._poll_timeout_ms, max_records=MAX_BATCH
                )
            except KafkaError as exc:
                self._log.warning("consumer.fetch_failed", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if not batch:
                continue
            for tp, part in batch.items():
                if part and tp not in self._next:
                    # Until its first commit here, the partition is behind from this record.
                    self._next[tp] = part[0].offset
            try:
                await self._handle(batch)
            except Stopping:
                self._rewind(consumer, batch)
                return
            except Exception:
                # Not committed: rewind so this batch comes again rather than being skipped.
                self._log.exception("consumer.batch_failed")
                self._rewind(consumer, batch)
                await asyncio.sleep(1.0)
                continue
            await self._commit(consumer, batch)

    async def _handle(self, batch: dict[Any, list[Any]]) -> None:
        records = [record for part in batch.values() for record in part]
        deliveries, failures, _skipped = parse_records(records)

        async def body(conn: asyncpg.Connection, todo: Sequence[Delivery]) -> None:
            await self._body(conn, todo, records)

        failures += await apply_with_retries(
            self._pool,
            body,
            deliveries,
            retries=self._retries,
            log=self._log,
            stopping=lambda: self._stopping,
        )
        for failure in failures:
            await self._dead_letter(failure)

    async def _dead_letter(self, failure: Failure) -> None:
        record = failure.record
        topic = contract_topics.dead_letter(record.topic, self.group)
        await self._producer.send_and_wait(
            topic,
            value=record.value,
            key=record.key,
            headers=dead_letter_headers(failure, self.group),
        )
        self._log.error(
            "consumer.dead_lettered",
            dead_letter_topic=topic,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            stage=failure.stage,
            error=failure.reason,
        )
        if self._on_dead_letter is not None:
            self._on_dead_letter(self.name, record.topic)

    async def _commit(self, consumer: AIOKafkaConsumer, batch: dict[Any, list[Any]]) -> None:
        # A partition revoked meanwhile can't be committed here (its new owner re-reads it);
        # committing the others still spares them a redelivery.
        assigned = consumer.assignment()
        offsets = {tp: part[-1].offset + 1 for tp, part in batch.items() if part and tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # The group rebalanced meanwhile: the new owner gets these records again and
            # the handled marks make that a no-op.
            self._log.warning("consumer.commit_failed", error=repr(exc))
            return
        self._next.update(offsets)
        last = max((part[-1] for part in batch.values() if part), key=lambda r: r.timestamp)
        self.last_applied_ms = max(self.last_applied_ms or 0, int(last.timestamp))

    @staticmethod
    def _rewind(consumer: AIOKafkaConsumer, batch: dict[Any, list[Any]]) -> None:
        for tp, part in batch.items():
            if part:
                # A revoked partition can't be sought; its new owner re-reads it anyway.
                with contextlib.suppress(Exception):
                    consumer.seek(tp, part[0].offset)


async def ensure_topics(bootstrap: str, names: Sequence[str], partitions: int = 1) -> None:
    """Create the topics that don't exist yet (dead-letter topics: one partition each)."""
    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_security_settings())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        if missing:
            # Another process may create them at the same moment.
            with contextlib.suppress(TopicAlreadyExistsError):
                # Replicated like the event topics: a dead letter is kept for an operator.
                factor = replication_factor()
                await admin.create_topics(
                    [
                        NewTopic(n, num_partitions=partitions, replication_factor=factor)
                        for n in missing
                    ]
                )
    finally:
        await admin.close()
