"""Subscribing your handler to Passend's integration topics, as a FastStream batch subscriber.

You build the :class:`faststream.kafka.KafkaBroker` (your servers, your credentials) and
register a handler with :func:`subscribe`; the kit adds one batch subscriber on a router
of its own, with ``AckPolicy.MANUAL`` and the delivery policy of
:mod:`passend_consumerkit.delivery` (the one Passend's own services consume with):

- Every record is parsed and validated (:mod:`passend_consumerkit.records`,
  :mod:`passend_consumerkit.thin`). A record that is not a valid event is **set aside**
  through the policy's ``set_aside`` callback (stage ``"parse"``), never silently
  dropped; the offsets are committed only after that callback returned.
- Your handler gets each valid event (``handler=``) or the batch's valid events at once
  (``batch_handler=``). The offsets of a batch are committed after your handler returned
  for all of it: a process that dies before that gets the batch again (at-least-once), so
  deduplicate on the event id in the same transaction as the event's effect.
- Your handler failing for one event has that event retried (the batch is rewound and
  delivered again); after ``policy.retries`` failures it is set aside (stage
  ``"handle"``) and the rest goes on. A batch handler that fails is handed the batch's
  events one at a time, which finds the event that fails.
- A **transient** failure (``policy.transient``: by default a lost broker connection or
  a timeout; add your own, such as your database being away) is retried with back-off for
  as long as it lasts and never counts against an event, so nothing is set aside because
  your database restarted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, KafkaRouter

from passend_consumerkit.broker import BrokerKind, consumer_settings
from passend_consumerkit.delivery import (
    Delivery,
    DeliveryPolicy,
    Failure,
    RecordFailed,
    middleware,
    raw_records,
    record_key,
)
from passend_consumerkit.records import InvalidMessage, Received, parse_event_record
from passend_consumerkit.thin import ReceivedThin, parse_thin_record
from passend_contracts.events.base import EventPayload

T = TypeVar("T")
Handler = Callable[[T], Awaitable[None]]
BatchHandler = Callable[[Sequence[T]], Awaitable[None]]

# Records handed to the handler at most per batch, and how long a fetch waits for more.
MAX_BATCH = 100
POLL_MS = 100

log = logging.getLogger("passend_consumerkit")


class InvalidEventError(Exception):
    """Why a record was set aside at stage ``"parse"``: :attr:`message` says what is wrong."""

    def __init__(self, message: InvalidMessage) -> None:
        position = message.position
        super().__init__(
            f"invalid message at {position.topic}[{position.partition}]@{position.offset}: "
            f"{message.reason}"
        )
        self.message = message


def invalid_message(failure: Failure) -> InvalidMessage | None:
    """The invalid message of a record set aside because it could not be parsed, else None."""
    error = failure.error
    return error.message if isinstance(error, InvalidEventError) else None


@dataclass(frozen=True)
class Subscription(Generic[T]):
    """One registered subscriber: its delivery state (attempts, progress) and FastStream parts."""

    delivery: Delivery
    router: KafkaRouter
    subscriber: Any

    def stop(self) -> None:
        """Cut short any back-off wait, so stopping the broker does not wait for it.

        Call it before ``broker.stop()``. The batch in hand is not committed: it comes
        again after a restart.
        """
        self.delivery.stopping.set()


def subscribe(
    broker: KafkaBroker,
    *,
    topics: Sequence[str],
    group_id: str,
    handler: Handler[Received] | None = None,
    batch_handler: BatchHandler[Received] | None = None,
    policy: DeliveryPolicy | None = None,
    kind: BrokerKind = "kafka",
    event_types: Collection[type[EventPayload]] | None = None,
    max_records: int = MAX_BATCH,
    **subscriber_options: Any,
) -> Subscription[Received]:
    """Hand the validated events of ``topics`` (typed, upcast) to your handler.

    Give ``handler`` (one event at a time) or ``batch_handler`` (the valid events of a
    batch, in order). ``event_types`` (newest versions) keeps only those: the others are
    skipped and committed. ``policy`` sets the retries, the back-off, what counts as
    transient and where records are set aside (default: an error log line). ``kind`` is
    ``"kafka"`` in production, ``"tansu"`` against the dev stack. ``subscriber_options``
    go to ``KafkaBroker.subscriber``. Register before ``broker.start()``.
    """
    wanted: Callable[[Received], bool] | None = None
    if event_types is not None:
        classes = tuple(event_types)

        def wanted(received: Received) -> bool:
            return isinstance(received.payload, classes)

    return _subscribe(
        broker,
        topics,
        group_id,
        parse_event_record,
        wanted,
        handler,
        batch_handler,
        policy or DeliveryPolicy(),
        kind,
        max_records,
        subscriber_options,
    )


def subscribe_thin(
    broker: KafkaBroker,
    *,
    topics: Sequence[str],
    group_id: str,
    handler: Handler[ReceivedThin] | None = None,
    batch_handler: BatchHandler[ReceivedThin] | None = None,
    policy: DeliveryPolicy | None = None,
    kind: BrokerKind = "kafka",
    max_records: int = MAX_BATCH,
    **subscriber_options: Any,
) -> Subscription[ReceivedThin]:
    """Hand the thin notifications of ``topics`` (``passend.integration.<region>.thin``) to
    your handler; as :func:`subscribe`, deduplicate on :attr:`ReceivedThin.id`."""
    return _subscribe(
        broker,
        topics,
        group_id,
        parse_thin_record,
        None,
        handler,
        batch_handler,
        policy or DeliveryPolicy(),
        kind,
        max_records,
        subscriber_options,
    )


def _subscribe(
    broker: KafkaBroker,
    topics: Sequence[str],
    group_id: str,
    parse: Callable[[Any], T | InvalidMessage],
    wanted: Callable[[T], bool] | None,
    handler: Handler[T] | None,
    batch_handler: BatchHandler[T] | None,
    policy: DeliveryPolicy,
    kind: BrokerKind,
    max_records: int,
    options: dict[str, Any],
) -> Subscription[T]:
    if not topics:
        raise ValueError("subscribe to at least one topic: your region's integration topic")
    if (handler is None) == (batch_handler is None):
        raise TypeError("give handler= (one event at a time) or batch_handler=, not both")
    # Its own router, so its own delivery state: attempts per record, progress.
    delivery = Delivery(group_id, group_id, policy)
    router = KafkaRouter(middlewares=[middleware(delivery)])
    subscriber = router.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=POLL_MS,
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_records,
        **{**consumer_settings(kind), **options},
    )

    async def deliver(events: list[tuple[Any, T]]) -> None:
        if handler is not None:
            for record, item in events:
                await _blaming(record, handler(item))
            return
        assert batch_handler is not None
        if len(events) > 1:
            try:
                await batch_handler([item for _, item in events])
                return
            except Exception as exc:
                if policy.transient(exc):
                    raise
                # Which event failed is not known: one at a time finds it, and the
                # retries set it aside alone.
                log.warning("batch handler failed, handing its events over one by one: %r", exc)
        for record, item in events:
            await _blaming(record, batch_handler([item]))

    async def handle(records: Any, message: KafkaMessage) -> None:
        todo, aside = delivery.split(records)
        events: list[tuple[Any, T]] = []
        for record in todo:
            item = parse(record)
            if isinstance(item, InvalidMessage):
                aside.append(Failure(record, "parse", InvalidEventError(item)))
            elif wanted is None or wanted(item):
                events.append((record, item))
        await deliver(events)
        # In the order they came, so what is set aside reads like the topic.
        aside.sort(key=lambda f: record_key(f.record))
        await delivery.settle(message, records, aside)

    handle.__name__ = f"handle_{group_id.replace('.', '_').replace('-', '_')}"
    subscriber(handle)
    broker.include_router(router)
    return Subscription(delivery, router, subscriber)


async def _blaming(record: Any, work: Awaitable[None]) -> None:
    """Await the handler's ``work`` for ``record``; a failure names the record."""
    try:
        await work
    except Exception as exc:
        raise RecordFailed(record, exc) from exc
