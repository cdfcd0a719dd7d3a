"""Subscribing to Passend's integration topics: validated events, at-least-once.

The offset of an event is committed only after the caller's handler returned, that is
when the caller asks for the next event (or leaves ``async with`` without an error). A
process that dies in between gets the event again after its restart, so handlers must be
idempotent: deduplicate on :attr:`Received.id`. An invalid message is reported (logged,
passed to a callback, or raised) before its offset is committed, never silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from passend_consumerkit.broker import BrokerKind, consumer_settings
from passend_consumerkit.records import InvalidMessage, Received, parse_event_record
from passend_consumerkit.thin import ReceivedThin, parse_thin_record
from passend_contracts.events.base import EventPayload

T = TypeVar("T")
OnInvalid = Callable[[InvalidMessage], Awaitable[None]]
InvalidPolicy = Literal["log", "raise"]

log = logging.getLogger("passend_consumerkit")


class InvalidEventError(Exception):
    """Raised for an invalid message under ``on_invalid="raise"``; its offset stays uncommitted."""

    def __init__(self, message: InvalidMessage) -> None:
        position = message.position
        super().__init__(
            f"invalid message at {position.topic}[{position.partition}]@{position.offset}: "
            f"{message.reason}"
        )
        self.message = message


class Subscription(Generic[T]):
    """An async iterator over one consumer group's messages; use it with ``async with``."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topics: Sequence[str],
        group_id: str,
        kind: BrokerKind,
        parse: Callable[[Any], T | InvalidMessage],
        on_invalid: OnInvalid | InvalidPolicy = "log",
        wanted: Callable[[T], bool] | None = None,
        stop: asyncio.Event | None = None,
        poll_timeout_ms: int = 500,
        consumer_options: dict[str, Any] | None = None,
    ) -> None:
        if not topics:
            raise ValueError("subscribe to at least one topic: your region's integration topic")
        self._topics = list(topics)
        self._parse = parse
        self._on_invalid = on_invalid
        self._wanted = wanted
        self._stop = stop
        self._poll_timeout_ms = poll_timeout_ms
        self._settings = {
            "bootstrap_servers": bootstrap,
            "group_id": group_id,
            **consumer_settings(kind),
            **(consumer_options or {}),
        }
        self._consumer: AIOKafkaConsumer | None = None
        self._buffer: deque[Any] = deque()
        self._in_hand: Any = None
        self._done: dict[TopicPartition, int] = {}
        self._closed = False

    async def start(self) -> None:
        """Join the group (``async with`` and the first iteration call this)."""
        if self._consumer is not None:
            return
        consumer = AIOKafkaConsumer(**self._settings)
        consumer.subscribe(self._topics, listener=_Rebalance(self))
        await consumer.start()
        self._consumer = consumer

    async def close(self) -> None:
        """Commit what the handler finished (not the event in hand), leave the group."""
        if self._closed:
            return
        self._closed = True
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        try:
            await self._commit(consumer)
        finally:
            await consumer.stop()

    async def __aenter__(self) -> Subscription[T]:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        await self.start()
        consumer = self._consumer
        assert consumer is not None
        # Asked for the next one: the handler of the previous one returned.
        if self._in_hand is not None:
            self._mark_done(self._in_hand)
            self._in_hand = None
        while True:
            if self._stop is not None and self._stop.is_set():
                # What is still buffered is not committed: the group reads it again.
                self._buffer.clear()
                await self.close()
                raise StopAsyncIteration
            while self._buffer:
                record = self._buffer.popleft()
                item = self._parse(record)
                if isinstance(item, InvalidMessage):
                    try:
                        await self._report(item)
                    except BaseException:
                        # Not reported, so not done: it comes first again on the next call.
                        self._buffer.appendleft(record)
                        raise
                    self._mark_done(record)
                    continue
                if self._wanted is not None and not self._wanted(item):
                    self._mark_done(record)
                    continue
                self._in_hand = record
                return item
            await self._commit(consumer)
            batch = await consumer.getmany(timeout_ms=self._poll_timeout_ms)
            for records in batch.values():
                self._buffer.extend(records)

    async def _report(self, message: InvalidMessage) -> None:
        if self._on_invalid == "raise":
            raise InvalidEventError(message)
        if self._on_invalid == "log":
            position = message.position
            log.error(
                "invalid message skipped: %s[%d]@%d: %s",
                position.topic,
                position.partition,
                position.offset,
                message.reason,
            )
            return
        await self._on_invalid(message)

    def _mark_done(self, record: Any) -> None:
        tp = TopicPartition(record.topic, record.partition)
        self._done[tp] = max(self._done.get(tp, 0), record.offset + 1)

    async def _commit(
        self, consumer: AIOKafkaConsumer, only: Collection[TopicPartition] | None = None
    ) -> None:
        assigned = consumer.assignment()
        offsets = {
            tp: offset
            for tp, offset in self._done.items()
            if tp in assigned and (only is None or tp in only)
        }
        for tp in offsets:
            del self._done[tp]
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # The group rebalanced meanwhile: the partition's new owner reads these again,
            # which idempotent handlers make harmless.
            log.warning("offset commit failed, events will come again: %r", exc)

    async def _revoked(self, revoked: Collection[TopicPartition]) -> None:
        consumer = self._consumer
        if consumer is not None:
            await self._commit(consumer, only=revoked)
        # Their new owner reads them; handling them here too would only double the work.
        lost = set(revoked)
        self._buffer = deque(
            r for r in self._buffer if TopicPartition(r.topic, r.partition) not in lost
        )
        for tp in lost:
            self._done.pop(tp, None)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, subscription: Subscription[Any]) -> None:
        self._subscription = subscription

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._subscription._revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        return None


def subscribe(
    bootstrap: str,
    *,
    topics: Sequence[str],
    group_id: str,
    kind: BrokerKind = "kafka",
    on_invalid: OnInvalid | InvalidPolicy = "log",
    event_types: Collection[type[EventPayload]] | None = None,
    stop: asyncio.Event | None = None,
    poll_timeout_ms: int = 500,
    **consumer_options: Any,
) -> Subscription[Received]:
    """Validated events of ``topics``, typed and upcast, committed after each is handled.

    ``event_types`` (newest versions) keeps only those; others are skipped and committed.
    ``on_invalid``: ``"log"`` (default) logs and skips an invalid message, ``"raise"``
    stops with :class:`InvalidEventError`, a coroutine function receives each one (store
    it, alert on it) and the message is skipped once it returns. ``stop`` ends the
    iteration between events. ``consumer_options`` go to ``aiokafka.AIOKafkaConsumer``
    (``security_protocol="SASL_SSL"``, ``sasl_mechanism``, ``ssl_context``, ...).
    """
    wanted: Callable[[Received], bool] | None = None
    if event_types is not None:
        classes = tuple(event_types)

        def wanted(received: Received) -> bool:
            return isinstance(received.payload, classes)

    return Subscription(
        bootstrap,
        topics=topics,
        group_id=group_id,
        kind=kind,
        parse=parse_event_record,
        on_invalid=on_invalid,
        wanted=wanted,
        stop=stop,
        poll_timeout_ms=poll_timeout_ms,
        consumer_options=consumer_options,
    )


def subscribe_thin(
    bootstrap: str,
    *,
    topics: Sequence[str],
    group_id: str,
    kind: BrokerKind = "kafka",
    on_invalid: OnInvalid | InvalidPolicy = "log",
    stop: asyncio.Event | None = None,
    poll_timeout_ms: int = 500,
    **consumer_options: Any,
) -> Subscription[ReceivedThin]:
    """Thin notifications of ``topics`` (``passend.integration.<region>.thin``); as
    :func:`subscribe`, deduplicate on :attr:`ReceivedThin.id`."""
    return Subscription(
        bootstrap,
        topics=topics,
        group_id=group_id,
        kind=kind,
        parse=parse_thin_record,
        on_invalid=on_invalid,
        stop=stop,
        poll_timeout_ms=poll_timeout_ms,
        consumer_options=consumer_options,
    )
