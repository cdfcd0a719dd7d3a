"""The operator's desk for one service's dead letters: list, show, acknowledge, replay.

A consumer group sets a record aside on its dead-letter topic
(``<topic>.dlq.<group>``, with the reason in ``dlq-*`` headers) when it can't be parsed
or its handler failed every retry. The desk reads those topics back and joins the
operators' decisions (``public.dead_letter_resolutions``):

- **acknowledge**: the record is handled as far as anyone is concerned (who, why, when are
  recorded). Nothing is applied; a rebuild that meets the record again reports it as
  acknowledged instead of failing (``consumer.rebuild``).
- **replay** (after a fix): the record is applied to its consumer as the live consumer
  would have - in the projection's active generation, or through the reactor - in one
  transaction with the handled mark and the record of the replay. Applying is once only:
  an event already marked handled changes nothing, so a replay repeated after a crash
  or by a second operator applies nothing twice. A replay that fails again changes
  nothing and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.consumer.apply import HandlerFailed, apply_projection, apply_reactor
from passend_backbone.consumer.bookkeeping import PostgresBookkeeping
from passend_backbone.consumer.deliveries import Delivery, event_type_of, parse_record
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_backbone.consumer.schema import ProjectionNotSetUp, generation_schema, use_schema
from passend_backbone.consumer.subscribers import group_id
from passend_backbone.deadletters import resolutions
from passend_backbone.deadletters.records import DeadLetter, DeadLetterKey, Resolution, from_record
from passend_backbone.deadletters.topics import read_all
from passend_backbone.eventstore.port import EventStore
from passend_backbone.eventstore.store import PostgresEventStore
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_consumerkit.delivery import Failure
from passend_consumerkit.reasons import explain
from passend_contracts import topics as contract_topics

APPLIED = "applied"
ALREADY_APPLIED = "already-applied"
FAILED = "failed"


class NoSuchDeadLetter(LookupError):
    """No dead-letter topic of this service holds a record with that origin."""


@dataclass(frozen=True)
class ReplayOutcome:
    """What one replay did: ``applied``, ``already-applied`` or ``failed`` (with why)."""

    key: DeadLetterKey
    outcome: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"id": str(self.key), "outcome": self.outcome, "message": self.message}


@dataclass(frozen=True)
class _SourceRecord:
    """The dead letter's record as its consumer first read it (for parsing it again)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


class _Rollback(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeadLetterDesk:
    """The dead letters of one service's projections and reactors."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        bootstrap: str,
        projections: Sequence[Projection] = (),
        reactors: Sequence[Reactor] = (),
        store: EventStore | None = None,
        topic_prefix: str = "",
        read_timeout: float = 20.0,
    ) -> None:
        self.service = service
        self.pool = pool
        self.bootstrap = bootstrap
        self.projections = {p.name: p for p in projections}
        self.reactors = {r.name: r for r in reactors}
        self.store = store
        self.prefix = topic_prefix
        self.read_timeout = read_timeout

    @property
    def consumers(self) -> list[str]:
        """The names of the service's projections and reactors."""
        return [*self.projections, *self.reactors]

    def group(self, consumer: str) -> str:
        return group_id(self.service, consumer)

    def _topics(self, consumer: str | None) -> dict[str, str]:
        """Dead-letter topic -> consumer name, for ``consumer`` or every one."""
        found: dict[str, str] = {}
        everyone: list[Projection | Reactor] = [*self.projections.values(), *self.reactors.values()]
        for c in everyone:
            if consumer is not None and c.name != consumer:
                continue
            for topic in c.topics:
                found[contract_topics.dead_letter(self.prefix + topic, self.group(c.name))] = c.name
        return found

    def _check_consumer(self, consumer: str) -> None:
        if consumer not in self.projections and consumer not in self.reactors:
            raise NoSuchDeadLetter(
                f"no dead letter of {consumer!r}: {self.service} has no such consumer; its "
                "consumers: " + (", ".join(self.consumers) or "none")
            )

    async def worklist(self, consumer: str | None = None) -> list[DeadLetter]:
        """Every dead letter (of ``consumer``), with its decision, oldest first per consumer.

        A record dead-lettered twice (its batch came again before the offsets were
        committed) is listed once.
        """
        if consumer is not None:
            self._check_consumer(consumer)
        by_topic = self._topics(consumer)
        records = await read_all(self.bootstrap, list(by_topic), seconds=self.read_timeout)
        decided = await resolutions.of_groups(self.pool, {self.group(c) for c in by_topic.values()})
        letters: dict[DeadLetterKey, DeadLetter] = {}
        for record in records:
            name = by_topic.get(record.topic)
            if name is None:
                continue
            letter = from_record(record, name)
            if letter is None:
                continue
            k = letter.key
            resolution = decided.get((self.group(name), k.topic, k.partition, k.offset))
            letters[k] = replace(letter, resolution=resolution)
        return sorted(letters.values(), key=lambda d: (d.key.consumer, d.dead_lettered_at, d.key))

    async def get(self, key: DeadLetterKey) -> DeadLetter:
        for letter in await self.worklist(key.consumer):
            if letter.key == key:
                return letter
        raise NoSuchDeadLetter(f"no dead letter {key} (see the list for their names)")

    async def acknowledge(
        self, key: DeadLetterKey, *, by: str, why: str
    ) -> tuple[DeadLetter, bool]:
        """Record that ``by`` handled the dead letter for reason ``why``.

        Returns the dead letter with the decision on record and whether this call made
        it: acknowledging again (or after a replay) changes nothing.
        """
        if not why.strip():
            raise ValueError("say why the dead letter needs no replay (--why)")
        if not by.strip():
            raise ValueError("say who acknowledges it (--by)")
        letter = await self.get(key)
        async with self.pool.acquire() as conn:
            resolution, made = await resolutions.acknowledge(
                conn,
                self.group(key.consumer),
                key,
                by=by.strip(),
                why=why.strip(),
                event_id=_uuid_text(letter.event_id),
            )
        return replace(letter, resolution=resolution), made

    async def replay(self, key: DeadLetterKey, *, by: str) -> ReplayOutcome:
        """Apply the dead letter to its consumer once (after a fix); see the module doc."""
        return await self._replay(await self.get(key), by)

    async def replay_all(self, consumer: str, *, by: str) -> list[ReplayOutcome]:
        """Replay every open dead letter of ``consumer``, in the order they were set aside."""
        return [
            await self._replay(letter, by)
            for letter in await self.worklist(consumer)
            if letter.resolution is None
        ]

    async def _replay(self, letter: DeadLetter, by: str) -> ReplayOutcome:
        key = letter.key
        if letter.resolution is not None and letter.resolution.resolution == resolutions.REPLAYED:
            return ReplayOutcome(
                key, ALREADY_APPLIED, f"replayed before by {letter.resolution.resolved_by}"
            )
        record = _SourceRecord(
            key.topic,
            key.partition,
            key.offset,
            letter.record_key,
            letter.value,
            letter.headers,
            int(letter.dead_lettered_at.timestamp() * 1000),
        )
        parsed = parse_record(record)
        if parsed is None:
            return ReplayOutcome(
                key,
                FAILED,
                f"this version does not know the event type {event_type_of(record)!r}",
            )
        if isinstance(parsed, Failure):
            return ReplayOutcome(key, FAILED, f"still can't be read: {parsed.reason}")
        group = self.group(key.consumer)
        try:
            if key.consumer in self.projections:
                new = await self._apply_projection(
                    self.projections[key.consumer], parsed, group, by
                )
            else:
                new = await self._apply_reactor(self.reactors[key.consumer], parsed, group, by)
        except _Rollback as exc:
            return ReplayOutcome(key, FAILED, exc.reason)
        if new:
            return ReplayOutcome(key, APPLIED, f"applied event {parsed.event.id}")
        return ReplayOutcome(
            key, ALREADY_APPLIED, f"event {parsed.event.id} was applied before; nothing changed"
        )

    async def _apply_projection(
        self, projection: Projection, delivery: Delivery, group: str, by: str
    ) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            # FOR SHARE, as the live consumer: a rebuild's swap waits for this to commit.
            generation = await conn.fetchval(
                "SELECT active FROM public.projection_generations WHERE projection = $1 FOR SHARE",
                projection.name,
            )
            if generation is None:
                raise ProjectionNotSetUp(projection.name)
            await use_schema(conn, generation_schema(projection.name, generation))
            before = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM handled WHERE event_id = $1)", delivery.event.id
            )
            await self._apply(apply_projection(conn, projection, [delivery]))
            await self._record(conn, group, delivery, by)
            return not before

    async def _apply_reactor(
        self, reactor: Reactor, delivery: Delivery, group: str, by: str
    ) -> bool:
        if self.store is None:
            raise ValueError("replaying to a reactor needs the service's event store")
        bookkeeping = PostgresBookkeeping(self.pool)
        async with bookkeeping.transaction() as conn:
            before = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM public.reactor_handled "
                "WHERE reactor = $1 AND event_id = $2)",
                reactor.name,
                delivery.event.id,
            )
            await self._apply(apply_reactor(conn, reactor, self.store, [delivery], bookkeeping))
            await self._record(conn, group, delivery, by)
            return not before

    @staticmethod
    async def _apply(work: Any) -> None:
        try:
            await work
        except HandlerFailed as exc:
            # Undo the transaction (the handled mark with it): the dead letter stays open.
            raise _Rollback(
                "the consumer failed on it again: " + explain("handle", exc.cause).words
            ) from exc.cause

    @staticmethod
    async def _record(conn: Any, group: str, delivery: Delivery, by: str) -> None:
        record = delivery.record
        await resolutions.replayed(
            conn,
            group,
            DeadLetterKey("", record.topic, record.partition, record.offset),
            by=by,
            why="replayed",
            event_id=str(delivery.event.id),
        )


def desk_for(spec: ServiceSpec, settings: ServiceSettings, pool: asyncpg.Pool) -> DeadLetterDesk:
    """The desk of ``spec``'s consumers on the service's database and broker."""
    return DeadLetterDesk(
        service=spec.name,
        pool=pool,
        bootstrap=settings.kafka_bootstrap_servers,
        projections=spec.projections,
        reactors=spec.reactors,
        store=PostgresEventStore(pool, f"/passend/{spec.name}"),
        topic_prefix=settings.kafka_topic_prefix,
    )


def _uuid_text(value: str | None) -> str | None:
    try:
        return str(UUID(value)) if value else None
    except ValueError:
        return None


__all__ = [
    "ALREADY_APPLIED",
    "APPLIED",
    "FAILED",
    "DeadLetterDesk",
    "NoSuchDeadLetter",
    "ReplayOutcome",
    "Resolution",
    "desk_for",
]
