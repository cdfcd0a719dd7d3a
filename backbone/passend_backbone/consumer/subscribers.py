"""A service's projections and reactors, read in its fetch loops (FastStream batch subscribers).

The loops are :mod:`passend_backbone.consumer.loops`: a live one for what the consumers
read, a lazy one for the service's own topic, one consumer group each; every batch goes to
each consumer that reads its topic, in a transaction of its own.

Delivery is at-least-once, made exactly-once in effect by the database: a consumer's part
of a batch is applied in one transaction that also marks each event handled, and the
offsets are committed only after every consumer's transaction committed
(``AckPolicy.MANUAL``). A process that dies anywhere leaves either nothing (the batch comes
again) or committed transactions without the offset commit (the batch comes again and
changes nothing).

Failures follow :mod:`passend_consumerkit.delivery`, the policy a municipality's
consumer uses too, per consumer: a handler that raises for one event has that event
retried and, after ``retries`` failures, dead-lettered with the reason; transient failures
(deadlocks, serialization failures, a lost database or broker connection) are retried with
back-off for as long as they last and never dead-letter anything (:func:`is_transient`). A
record that can't be parsed is dead-lettered at once. Unknown event types are skipped,
counted (``on_unknown_type``) and logged once per type.

Each loop has its own FastStream router; each consumer in it its own delivery state
(attempts per record, progress for the metrics). The same wiring runs on
``TestKafkaBroker`` with the in-memory store and bookkeeping, for tests in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, KafkaRouter

from passend_backbone import hoptrace
from passend_backbone.consumer.apply import (
    HandlerFailed,
    apply_projection,
    apply_reactor,
    record_consumed,
)
from passend_backbone.consumer.bookkeeping import Bookkeeping, PostgresBookkeeping
from passend_backbone.consumer.dead_letters import DeadLetters, KafkaDeadLetters
from passend_backbone.consumer.deliveries import Delivery as Parsed
from passend_backbone.consumer.failures import is_transient
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_backbone.consumer.loops import (
    LIVE,
    LOOPS,
    OWN,
    Loop,
    Member,
    MemberFailed,
    Membership,
    loop_group,
)
from passend_backbone.consumer.schema import (
    ProjectionNotSetUp,
    check_consumer_tables,
    check_name,
    ensure_projection,
    generation_schema,
    use_schema,
)
from passend_backbone.eventstore.port import EventStore
from passend_backbone.kafka_settings import (
    BrokerKind,
    client_security_settings,
    consumer_settings,
    lazy_fetch,
    producer_settings,
)
from passend_backbone.logs import get_logger
from passend_consumerkit.delivery import (
    Delivery,
    DeliveryPolicy,
    Failure,
    RecordFailed,
    dead_letter_headers,
    eager,
    middleware,
    raw_records,
)
from passend_contracts import topics as contract_topics

# Records per transaction at most. A fetch returns what has arrived, so this only matters
# with a backlog, where a bigger batch spreads the per-batch statements, commit and offset
# commit over more events (a batch handler then writes each touched row once).
MAX_BATCH = 2000
# How long one ``getmany`` waits for records before the subscriber loop goes round again
# (it returns at once when records arrive; see ``passend_consumerkit.delivery.eager``).
POLL_MS = 100
# How long a stopping service lets the batch in hand finish and commit.
GRACEFUL_SECONDS = 5.0

# Told (consumer name, source topic) each time a record goes to a dead-letter topic.
DeadLetterHook = Callable[[str, str], None]
# Told (consumer name, event type) for each record skipped as a type the contracts don't know.
UnknownTypeHook = Callable[[str, str], None]


def group_id(service: str, consumer_name: str) -> str:
    """The name one projection or reactor of ``service`` goes by towards the broker's
    users: its dead-letter topics and their resolutions, its ACLs, the catalogue. (It reads
    in one of the service's fetch loops: :func:`~passend_backbone.consumer.loops.loop_group`.)
    """
    return f"{service}.{consumer_name}"


@dataclass(frozen=True)
class ConsumerProgress:
    """Where one projection or reactor stands, for the metrics."""

    name: str
    lag: dict[tuple[str, int], int]  # (topic, partition) -> records behind the highwater
    last_applied_ms: int | None  # broker timestamp of the last committed record


def new_broker(bootstrap: str, kind: BrokerKind) -> KafkaBroker:
    """A FastStream broker for the consumers, with the kind's settings and security."""
    security = client_security_settings()
    return KafkaBroker(
        bootstrap,
        graceful_timeout=GRACEFUL_SECONDS,
        logger=logging.getLogger("passend.faststream"),
        log_level=logging.DEBUG,  # its per-message lines; ours say what matters
        **producer_settings(kind),
        **security,
    )


class Consumers:
    """Runs a service's projections and reactors until :meth:`stop`."""

    def __init__(
        self,
        *,
        service: str,
        bootstrap: str = "",
        kind: BrokerKind = "kafka",
        pool: asyncpg.Pool | None = None,
        projections: Sequence[Projection] = (),
        reactors: Sequence[Reactor] = (),
        store: EventStore | None = None,
        log: Any = None,
        retries: int = 3,
        on_dead_letter: DeadLetterHook | None = None,
        on_unknown_type: UnknownTypeHook | None = None,
        broker: KafkaBroker | None = None,
        bookkeeping: Bookkeeping | None = None,
        dead_letters: DeadLetters | None = None,
        topic_prefix: str = "",
        own_topic: str | None = None,
    ) -> None:
        if reactors and store is None:
            raise ValueError("reactors append to the event store: pass store=...")
        if projections and pool is None:
            raise ValueError("projections write read-model tables: pass pool=...")
        names = [p.name for p in projections] + [r.name for r in reactors]
        if len(set(names)) != len(names):
            raise ValueError(f"projection and reactor names must be unique, got {names}")
        for name in names:
            check_name(name)
            if name in LOOPS:
                raise ValueError(f"{name!r} names a fetch loop: choose another name")
        if bookkeeping is None and pool is None:
            raise ValueError("pass pool=... (PostgreSQL) or bookkeeping=... (in memory)")
        self.service = service
        self._bootstrap = bootstrap
        self._kind: BrokerKind = kind
        self._pool = pool
        self._projections = tuple(projections)
        self._reactors = tuple(reactors)
        self._store = store
        self._log = log or get_logger("passend.consumer")
        self._retries = retries
        self._on_dead_letter = on_dead_letter
        self._on_unknown_type = on_unknown_type
        # (consumer, event type) already logged: one line per type, not one per record.
        self._unknown_logged: set[tuple[str, str]] = set()
        self._own_broker = broker is None
        self._prefix = topic_prefix
        self.broker = broker or new_broker(bootstrap, kind)
        self._bookkeeping: Bookkeeping = bookkeeping or PostgresBookkeeping(_required(pool))
        self._dead_letters = dead_letters
        self._own_producer: AIOKafkaProducer | None = None
        # The topic whose events the appending transaction applies to the projections
        # (``passend_backbone.consumer.inline``): read by the lazy loop (``OWN``).
        self._own_topic = own_topic
        self._loops: list[Loop] = []
        self._subscribers: dict[str, Any] = {}  # loop name -> its subscriber
        self._registered = False

    # -- wiring -------------------------------------------------------------------------

    def loops(self) -> list[Loop]:
        """The service's fetch loops and their members (:mod:`~passend_backbone.consumer.loops`)."""
        self.register()
        return list(self._loops)

    def register(self) -> None:
        """Add the service's fetch loops to the broker (once): one subscriber each."""
        if self._registered:
            return
        self._registered = True
        # Reactors first: what they append starts the next step of a case (in this
        # service and the others), while a projection's batch only serves reads.
        consumers: list[Projection | Reactor] = [*self._reactors, *self._projections]
        wanted: dict[str, list[tuple[Projection | Reactor, tuple[str, ...]]]] = {
            LIVE: [],
            OWN: [],
        }
        for consumer in consumers:
            own = self._own_topic if consumer in self._projections else None
            others = tuple(t for t in consumer.topics if t != own)
            if others:
                wanted[LIVE].append((consumer, others))
            if own is not None and own in consumer.topics:
                wanted[OWN].append((consumer, (own,)))
        for name, members in wanted.items():
            if members:
                self._add_loop(name, members)

    def _add_loop(
        self, name: str, wanted: Sequence[tuple[Projection | Reactor, tuple[str, ...]]]
    ) -> None:
        group = loop_group(self.service, name)
        log = self._log.bind(service=self.service, loop=group)
        members = [
            Member(
                consumer,
                frozenset(self._prefix + t for t in topics),
                self._delivery_of(consumer.name, log.bind(consumer=consumer.name)),
            )
            for consumer, topics in wanted
        ]
        topics = tuple(sorted({t for _, ts in wanted for t in ts}))
        loop = Loop(name, group, topics, members, Delivery(group, group, log=log))
        settings = consumer_settings(self._kind)
        if name == OWN:
            settings.update(lazy_fetch())
        membership = Membership(loop, self._pool, log) if self._pool is not None else None
        # Its own router: its own delivery state; the prefix names the topics on the broker.
        router = KafkaRouter(prefix=self._prefix, middlewares=[middleware(loop)])
        # Eager: hands a batch over as soon as it is fetched (FastStream's own batch
        # subscriber sleeps POLL_MS after every empty fetch, adding up to that to a hop).
        subscriber = eager(
            router.subscriber(
                *topics,
                group_id=group,
                batch=True,
                max_records=MAX_BATCH,
                batch_timeout_ms=POLL_MS,
                ack_policy=AckPolicy.MANUAL,
                decoder=raw_records,
                listener=membership,
                auto_offset_reset=settings["auto_offset_reset"],
                isolation_level=settings["isolation_level"],
                session_timeout_ms=settings["session_timeout_ms"],
                heartbeat_interval_ms=settings["heartbeat_interval_ms"],
                fetch_max_wait_ms=settings["fetch_max_wait_ms"],
                fetch_min_bytes=settings.get("fetch_min_bytes", 1),
                max_poll_records=settings["max_poll_records"],
                title=group,
                description=f"{self.service}: "
                + ", ".join(f"{m.name} ({', '.join(sorted(m.topics))})" for m in members),
            )
        )
        subscriber(self._handler(loop, membership))
        if membership is not None:
            membership.subscriber = subscriber
        self.broker.include_router(router)
        self._loops.append(loop)
        self._subscribers[name] = subscriber

    def _delivery_of(self, name: str, log: Any) -> Delivery:
        """The delivery state of one consumer in one loop (retries, dead letters, lag)."""
        group = group_id(self.service, name)
        return Delivery(
            name,
            group,
            DeliveryPolicy(
                retries=self._retries,
                transient=is_transient,
                set_aside=self._set_aside_for(group),
            ),
            log=log,
            on_set_aside=self._counted(name),
        )

    def _handler(self, loop: Loop, membership: Membership | None) -> Callable[..., Any]:
        async def handle(records: Any, message: KafkaMessage) -> None:
            started = hoptrace.now() if hoptrace.on else 0
            shares = loop.shares(records)
            applied: list[float] = []  # per share: when its transaction committed
            for share in shares:
                if share.unknown:
                    self._skipped_unknown(share.member.name, share.unknown)
                consumer = share.member.consumer
                try:
                    if consumer in self._projections:
                        await self._apply_projection(consumer, share.parsed, share.records)
                    elif share.parsed:
                        await self._apply_reactor(cast(Reactor, consumer), share.parsed)
                except RecordFailed as exc:
                    raise MemberFailed(share.member, exc) from exc.cause
                if started:
                    applied.append(hoptrace.now())
            for share in shares:
                await share.member.delivery.set_aside_now(share.aside)
            try:
                await message.ack()
            except KafkaError as exc:
                # The group rebalanced meanwhile: the new owner gets these records again and
                # idempotent handling makes that a no-op.
                self._log.warning("consumer.commit_failed", loop=loop.group, error=repr(exc))
                return
            for share in shares:
                share.member.delivery.settled(share.records, share.aside)
            if membership is not None:
                await membership.committed(records)
            if started:
                ended = hoptrace.now()
                for share, at in zip(shares, applied, strict=True):
                    # Hop trace: batch handed over -> its transaction committed -> offsets.
                    hoptrace.record(
                        "consume",
                        (d.event.correlationid for d in share.parsed),
                        t0=started,
                        applied=at,
                        t1=ended,
                        consumer=share.member.name,
                        service=self.service,
                        records=len(share.records),
                    )

        handle.__name__ = f"handle_{loop.name}"
        handle.__doc__ = f"{self.service}'s {loop.name} fetch loop"
        return handle

    async def _apply_projection(
        self, projection: Projection, parsed: list[Parsed], records: Sequence[Any]
    ) -> None:
        pool = _required(self._pool)
        async with pool.acquire() as conn, conn.transaction():
            name = projection.name
            # FOR SHARE: a swap holds this row FOR UPDATE while the new generation
            # catches up with the old one, so no batch lands in the old one after that.
            generation: int | None = await conn.fetchval(
                "SELECT active FROM public.projection_generations WHERE projection = $1 FOR SHARE",
                name,
            )
            if generation is None:
                raise ProjectionNotSetUp(name)
            await use_schema(conn, generation_schema(name, generation))
            try:
                await apply_projection(conn, projection, parsed)
            except HandlerFailed as exc:
                raise RecordFailed(exc.delivery.record, exc.cause) from exc.cause
            await record_consumed(conn, records)

    async def _apply_reactor(self, reactor: Reactor, parsed: list[Parsed]) -> None:
        store = self._store
        assert store is not None
        async with self._bookkeeping.transaction() as tx:
            try:
                await apply_reactor(tx, reactor, store, parsed, self._bookkeeping)
            except HandlerFailed as exc:
                raise RecordFailed(exc.delivery.record, exc.cause) from exc.cause

    def _skipped_unknown(self, name: str, types: Sequence[str]) -> None:
        """Count each skipped record of an unknown type; log each type once per consumer.

        A newer producer may publish types this version does not know (skipped, not
        dead-lettered); an operator still has to be able to see that it happens.
        """
        for event_type in types:
            if self._on_unknown_type is not None:
                self._on_unknown_type(name, event_type)
            if (name, event_type) not in self._unknown_logged:
                self._unknown_logged.add((name, event_type))
                self._log.warning(
                    "consumer.unknown_event_type_skipped",
                    consumer=name,
                    event_type=event_type,
                    note="logged once per type; passend_unknown_event_types_skipped_total counts",
                )

    def _set_aside_for(self, group: str) -> Callable[[Failure], Any]:
        async def set_aside(failure: Failure) -> None:
            record = failure.record
            topic = contract_topics.dead_letter(record.topic, group)
            dead_letters = self._dead_letters
            assert dead_letters is not None, "start() sets up the dead-letter producer"
            await dead_letters.send(topic, record, dead_letter_headers(failure, group))
            self._log.error(
                "consumer.dead_lettered",
                group=group,
                dead_letter_topic=topic,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                stage=failure.stage,
                error=failure.reason,
            )

        return set_aside

    def _counted(self, name: str) -> Callable[[Failure], None]:
        def counted(failure: Failure) -> None:
            if self._on_dead_letter is not None:
                self._on_dead_letter(name, failure.record.topic)

        return counted

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, producer: AIOKafkaProducer | None = None) -> None:
        """Set up read models, join the groups, start consuming.

        The dead-letter topics, like every topic, are the operator's (``passend-ops topics
        apply``); the service's readiness says when one is missing.

        ``producer`` (the service's, already started) writes the dead letters; without one
        the consumers start their own.
        """
        if self._pool is not None:
            async with self._pool.acquire() as conn:
                await check_consumer_tables(conn)
            for projection in self._projections:
                await ensure_projection(self._pool, projection)
        if self._dead_letters is None:
            if producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    **producer_settings(self._kind),
                    **client_security_settings(),
                )
                await producer.start()
                self._own_producer = producer
            self._dead_letters = KafkaDeadLetters(producer)
        self.register()
        await self.broker.start()

    async def stop(self) -> None:
        """Let the batch in hand finish and commit, leave the groups, close what we opened."""
        for loop in self._loops:
            loop.delivery.stopping.set()
            for member in loop.members:
                member.delivery.stopping.set()
        try:
            if self._own_broker:
                await self.broker.stop()
            else:
                for subscriber in self._subscribers.values():
                    await subscriber.stop()
        finally:
            if self._own_producer is not None:
                await self._own_producer.stop()
                self._own_producer = None

    # -- what the metrics and the supervisor read ----------------------------------------

    def _consumer_of(self, loop: Loop) -> Any:
        return getattr(self._subscribers.get(loop.name), "consumer", None)

    def lag(self) -> dict[str, int]:
        """Records behind the fetch highwater per consumer (over its loops)."""
        return {p.name: sum(p.lag.values()) for p in self.progress()}

    def progress(self) -> list[ConsumerProgress]:
        """Lag per partition and the last committed record's time, per consumer."""
        lags: dict[str, dict[tuple[str, int], int]] = {}
        last: dict[str, list[int]] = {}
        for loop in self._loops:
            consumer = self._consumer_of(loop)
            for member in loop.members:
                lag = member.delivery.lag(consumer)
                lags.setdefault(member.name, {}).update(
                    {tp: n for tp, n in lag.items() if tp[0] in member.topics}
                )
                at = member.delivery.last_applied_ms
                last.setdefault(member.name, []).extend([] if at is None else [at])
        return [ConsumerProgress(name, lags[name], max(last[name], default=None)) for name in lags]

    @property
    def failed(self) -> BaseException | None:
        """The error that ended a subscriber's loop, if one ended on its own."""
        for subscriber in self._subscribers.values():
            for task in getattr(subscriber, "tasks", ()):
                if isinstance(task, asyncio.Task) and task.done() and not task.cancelled():
                    exc = task.exception()
                    if exc is not None:
                        return exc
        return None


def _required(pool: asyncpg.Pool | None) -> asyncpg.Pool:
    if pool is None:
        raise ValueError("this needs the service's PostgreSQL pool")
    return pool
