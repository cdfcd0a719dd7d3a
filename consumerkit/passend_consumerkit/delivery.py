"""Delivering consumed batches on FastStream: commit after the work, retry, set poison aside.

Passend's own services and a municipality's consumer use the same policy, as a FastStream
middleware on a batch subscriber with ``AckPolicy.MANUAL``:

- The handler does its work for the batch and then calls :meth:`Delivery.settle`, which
  sets aside the records that failed for what they are and commits the batch's offsets.
  A process that dies before that commit gets the whole batch again: handlers must be
  idempotent (Passend records each handled event id in the same transaction).
- A handler that fails **because of one record** raises :class:`RecordFailed` naming it.
  The middleware rewinds the batch (``nack``: seek back and deliver again); after
  ``retries`` failures of the same record it is handed to ``set_aside`` (a dead-letter
  topic for Passend, a table of rejected messages for a municipality) on the next
  delivery, and the rest of the batch goes on.
- A **transient** failure (a deadlock, a serialization failure, a lost connection, a
  broker that does not answer) never counts against a record: the batch is rewound and
  tried again after a back-off that grows to ``backoff_cap``, for as long as it takes.
  Dead-lettering an event because the database was briefly away would lose it from every
  read model built on it.
- Any other failure that names no record (a bug, a missing table) is retried the same
  way and logged as an error: no record can be blamed for it.

:func:`eager` makes the subscriber hand a batch over as soon as records arrive: FastStream's
batch subscriber sleeps its whole ``batch_timeout_ms`` again after every fetch that
found nothing, and a record arriving during that sleep waited for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NodeNotReadyError,
    NotControllerError,
    NotCoordinatorForGroupError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)
from faststream import BaseMiddleware
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage

from passend_consumerkit.reasons import explain

# Kafka header names on a record that was set aside: part of the public contract.
from passend_contracts.integration import DLQ_ERROR as DLQ_ERROR
from passend_contracts.integration import DLQ_ERROR_TYPE as DLQ_ERROR_TYPE
from passend_contracts.integration import DLQ_GROUP as DLQ_GROUP
from passend_contracts.integration import DLQ_OFFSET as DLQ_OFFSET
from passend_contracts.integration import DLQ_PARTITION as DLQ_PARTITION
from passend_contracts.integration import DLQ_REASON as DLQ_REASON
from passend_contracts.integration import DLQ_STAGE as DLQ_STAGE
from passend_contracts.integration import DLQ_TOPIC as DLQ_TOPIC

log = logging.getLogger("passend_consumerkit.delivery")


# Errors that say "not now" rather than "not this record".
_TRANSIENT_KAFKA: tuple[type[BaseException], ...] = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
    NotLeaderForPartitionError,
    LeaderNotAvailableError,
    NotCoordinatorForGroupError,
    NotControllerError,
    NotEnoughReplicasError,
    ConnectionError,
    TimeoutError,
)


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it (``raise ... from``, or raised while handling)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_transient_kafka(exc: BaseException) -> bool:
    """True for failures of the broker connection that pass by themselves."""
    return any(isinstance(e, _TRANSIENT_KAFKA) for e in causes(exc))


def record_key(record: Any) -> tuple[str, int, int]:
    """Where a record is: (topic, partition, offset)."""
    return (record.topic, record.partition, record.offset)


class RecordFailed(Exception):
    """The handler failed because of ``record``; ``cause`` says why."""

    def __init__(self, record: Any, cause: BaseException) -> None:
        super().__init__(f"record {record_key(record)} failed: {cause!r}")
        self.record = record
        self.cause = cause


@dataclass(frozen=True)
class Failure:
    """A record set aside: it could not be parsed ("parse") or handled ("handle")."""

    record: Any
    stage: str
    error: BaseException

    @property
    def reason(self) -> str:
        """One line for a person: what is wrong with the record in words (a handler's
        failure: the error's type and message), shortened."""
        return explain(self.stage, self.error, getattr(self.record, "value", None)).words

    @property
    def reason_code(self) -> str:
        """The reason's short code (``passend_consumerkit.reasons.REASON_CODES``)."""
        return explain(self.stage, self.error, getattr(self.record, "value", None)).code


def dead_letter_headers(failure: Failure, group: str) -> list[tuple[str, bytes]]:
    """The headers saying why and where from, followed by the record's own headers."""
    record = failure.record
    headers = [
        (DLQ_ERROR, failure.reason.encode()),
        (DLQ_ERROR_TYPE, type(failure.error).__name__.encode()),
        (DLQ_REASON, failure.reason_code.encode()),
        (DLQ_STAGE, failure.stage.encode()),
        (DLQ_TOPIC, str(record.topic).encode()),
        (DLQ_PARTITION, str(record.partition).encode()),
        (DLQ_OFFSET, str(record.offset).encode()),
        (DLQ_GROUP, group.encode()),
    ]
    own = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
    return headers + own


SetAside = Callable[[Failure], Awaitable[None]]


async def log_set_aside(failure: Failure) -> None:
    """The default for a consumer without a dead-letter place: an error log line."""
    record = failure.record
    log.error(
        "record set aside at %s[%s]@%s (%s): %s",
        record.topic,
        record.partition,
        record.offset,
        failure.stage,
        failure.reason,
    )


@dataclass(frozen=True)
class DeliveryPolicy:
    """How failures are told apart and retried."""

    retries: int = 3  # failures of one record, for what it is, before it is set aside
    backoff_base: float = 0.05  # seconds before the first retry after a transient failure
    backoff_cap: float = 2.0  # the longest wait between two tries
    transient: Callable[[BaseException], bool] = is_transient_kafka
    set_aside: SetAside = log_set_aside

    def backoff(self, failures_in_a_row: int) -> float:
        """The wait before the next try after ``failures_in_a_row`` failures."""
        doublings = min(max(failures_in_a_row - 1, 0), 10)
        return float(min(self.backoff_base * 2**doublings, self.backoff_cap))


Logger = Any  # a structlog logger, or anything with warning/error(event, **kw)


class _StdLogger:
    """Key-value logging on the standard library logger (a kit user may have no structlog)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def warning(self, event: str, **fields: Any) -> None:
        self._logger.warning("%s %s", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._logger.error("%s %s", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._logger.info("%s %s", event, fields)


@dataclass
class Delivery:
    """The delivery state of one subscriber (one consumer group), or of one consumer of a
    subscriber that serves several: attempts, records set aside, progress."""

    name: str
    group: str
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    log: Logger = field(default_factory=lambda: _StdLogger(log))
    # failures, for what the record is, per (topic, partition, offset)
    attempts: dict[tuple[str, int, int], int] = field(default_factory=dict)
    # records whose attempts ran out, with their last error: set aside at next delivery
    exhausted: dict[tuple[str, int, int], BaseException] = field(default_factory=dict)
    # records set aside whose offsets are not committed yet: not handed over again
    sent: set[tuple[str, int, int]] = field(default_factory=set)
    transient_in_a_row: int = 0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # next offset to consume per partition after the last commit (for lag), and the
    # broker time of the last committed record
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    first_seen: dict[TopicPartition, int] = field(default_factory=dict)
    last_applied_ms: int | None = None
    on_set_aside: Callable[[Failure], None] | None = None

    def split(self, records: Sequence[Any]) -> tuple[list[Any], list[Failure]]:
        """(records to handle, records to set aside because their attempts ran out)."""
        for record in records:
            self.first_seen.setdefault(
                TopicPartition(record.topic, record.partition), record.offset
            )
        if not self.exhausted and not self.sent:
            return list(records), []
        keep: list[Any] = []
        aside: list[Failure] = []
        for record in records:
            key = record_key(record)
            if key in self.sent:
                continue  # set aside already; its offset is not committed yet
            error = self.exhausted.get(key)
            if error is None:
                keep.append(record)
            else:
                aside.append(Failure(record, "handle", error))
        return keep, aside

    async def settle(
        self, message: StreamMessage[Any], records: Sequence[Any], aside: Sequence[Failure]
    ) -> None:
        """After the batch's work committed: set ``aside`` aside, then commit the offsets.

        A failure to set aside (the dead-letter topic unreachable) raises before the
        commit: the batch comes again, its work already done changes nothing, and the
        records are set aside then.
        """
        await self.set_aside_now(aside)
        try:
            await message.ack()
        except KafkaError as exc:
            # The group rebalanced meanwhile: the new owner gets these records again and
            # idempotent handling makes that a no-op.
            self.log.warning("consumer.commit_failed", consumer=self.name, error=repr(exc))
            return
        self.settled(records, aside)

    async def set_aside_now(self, aside: Sequence[Failure]) -> None:
        """Hand ``aside`` to the policy's ``set_aside``, before the offsets are committed.

        A record set aside is not handed over again while this process runs (should the
        batch come again before its offsets are committed, because another part of the
        work failed); after a crash it is, and is set aside once more.
        """
        for failure in aside:
            await self.policy.set_aside(failure)
            key = record_key(failure.record)
            self.sent.add(key)
            self.exhausted.pop(key, None)
            if self.on_set_aside is not None:
                self.on_set_aside(failure)

    def settled(self, records: Sequence[Any], aside: Sequence[Failure] = ()) -> None:
        """After the offsets of ``records`` were committed: forget their attempts."""
        for failure in aside:
            key = record_key(failure.record)
            self.exhausted.pop(key, None)
            self.attempts.pop(key, None)
        for record in records:
            key = record_key(record)
            tp = TopicPartition(record.topic, record.partition)
            self.committed[tp] = max(self.committed.get(tp, 0), record.offset + 1)
            timestamp = int(record.timestamp)
            if self.last_applied_ms is None or timestamp > self.last_applied_ms:
                self.last_applied_ms = timestamp
            self.attempts.pop(key, None)
            self.sent.discard(key)

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    async def failed(self, message: StreamMessage[Any], exc: BaseException) -> None:
        """Count, log, wait and rewind after the handler raised ``exc``."""
        policy = self.policy
        blamed = exc.record if isinstance(exc, RecordFailed) else None
        cause = exc.cause if isinstance(exc, RecordFailed) else exc
        if policy.transient(cause):
            self.transient_in_a_row += 1
            wait = policy.backoff(self.transient_in_a_row)
            self.log.warning(
                "consumer.transient_failure",
                consumer=self.name,
                error=repr(cause),
                failures_in_a_row=self.transient_in_a_row,
                retry_in_seconds=round(wait, 3),
            )
        elif blamed is not None:
            self.transient_in_a_row = 0
            key = record_key(blamed)
            attempt = self.attempts.get(key, 0) + 1
            self.attempts[key] = attempt
            self.log.warning(
                "consumer.handler_failed",
                consumer=self.name,
                topic=key[0],
                partition=key[1],
                offset=key[2],
                attempt=attempt,
                of=policy.retries,
                error=repr(cause),
            )
            if attempt >= policy.retries:
                self.exhausted[key] = cause
            wait = policy.backoff(attempt)
        else:
            self.transient_in_a_row += 1
            wait = policy.backoff(self.transient_in_a_row)
            self.log.error(
                "consumer.batch_failed",
                consumer=self.name,
                error=repr(exc),
                failures_in_a_row=self.transient_in_a_row,
                retry_in_seconds=round(wait, 3),
                exc_info=exc,
            )
        await self.pause(wait)
        with contextlib.suppress(Exception):
            # A revoked partition can't be sought; its new owner reads it again anyway.
            await message.nack()

    def succeeded(self) -> None:
        self.transient_in_a_row = 0

    def lag(self, consumer: Any) -> dict[tuple[str, int], int]:
        """Records behind the fetch highwater per assigned partition fetched at least once.

        ``end_offsets`` can't be used (wrong on some brokers); the last fetch's highwater can.
        """
        if consumer is None:
            return {}
        lags: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            next_offset = self.committed.get(tp, self.first_seen.get(tp, highwater))
            lags[(tp.topic, tp.partition)] = max(0, highwater - next_offset)
        return lags


class Policed(Protocol):
    """What the middleware needs: told of a failed handler, and of one that succeeded
    (a :class:`Delivery`, or a subscriber's several)."""

    async def failed(self, message: StreamMessage[Any], exc: BaseException) -> None: ...

    def succeeded(self) -> None: ...


class DeliveryMiddleware(BaseMiddleware):
    """FastStream middleware applying a :class:`Delivery`'s policy around the handler."""

    def __init__(self, msg: Any, /, *, context: Any, delivery: Policed) -> None:
        super().__init__(msg, context=context)
        self.delivery = delivery

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        try:
            result = await call_next(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self.delivery.failed(msg, exc)
            return None
        self.delivery.succeeded()
        return result


def middleware(delivery: Policed) -> Callable[..., BaseMiddleware]:
    """The middleware factory for a router or broker serving ``delivery``'s subscriber."""
    return partial(DeliveryMiddleware, delivery=delivery)


async def raw_records(message: StreamMessage[Any]) -> Any:
    """A FastStream decoder that hands the handler the records themselves.

    The handler parses them (with the contracts) itself, once, and needs their
    positions anyway.
    """
    raw = message.raw_message
    return tuple(raw) if isinstance(raw, tuple | list) else (raw,)


class EagerBatchSubscriber(BatchSubscriber):
    """FastStream's Kafka batch subscriber, minus the pause after a fetch that found nothing.

    ``getmany(timeout_ms=batch_timeout_ms)`` already waits up to that long and returns as
    soon as a record is there; FastStream 0.7 then sleeps ``batch_timeout_ms`` once more
    when it came back empty, so a record arriving in that sleep waited up to a whole
    timeout before its handler saw it (one such wait per hop between services). This
    loop goes straight back to ``getmany``. Only a fetch that returned empty *early*
    (which ``getmany`` does not do while the consumer runs) waits out the rest of its
    timeout, so the loop can never spin.

    Everything else (consumer, commits, middlewares, the handler) is FastStream's.
    """

    __slots__ = ()

    async def get_msg(self, consumer: Any) -> tuple[Any, ...]:
        timeout = self.batch_timeout_ms / 1000
        started = _clock()
        fetched = await consumer.getmany(
            timeout_ms=self.batch_timeout_ms, max_records=self.max_records
        )
        if fetched:
            return tuple(chain(*fetched.values()))
        left = timeout - (_clock() - started)
        if left > timeout / 2:
            await _pause(left)
        return ()


# Module-level so a test can watch them without touching asyncio or time themselves.
_clock = time.monotonic
_pause = asyncio.sleep


def eager(subscriber: Any) -> Any:
    """``subscriber`` (made by ``router.subscriber(..., batch=True)``) as an
    :class:`EagerBatchSubscriber`, before it starts; returns it.

    FastStream has no parameter for the subscriber class, so the instance made by its
    factory takes the subclass (same slots, one method overridden).
    """
    if not isinstance(subscriber, BatchSubscriber):
        raise TypeError(f"eager() takes a batch subscriber, not {type(subscriber).__name__}")
    subscriber.__class__ = EagerBatchSubscriber
    return subscriber
