"""The two kinds of consumer a service declares: projections and reactors.

A **projection** turns consumed events into read-model tables. Its tables live in a
PostgreSQL schema of their own per generation (``rm_<projection>_<generation>``); the
runner sets ``search_path`` to that schema for ``setup`` and ``handle``, so a projection
writes unqualified table names (except ``handled`` and ``consumed``: the runner keeps its
bookkeeping there). Rebuilding creates the next generation from offset zero
while the active one keeps serving, then swaps; the handled-event ids live in the same
schema, so a rebuild handles everything once more.

A **reactor** turns consumed events into events of its own service (a claim opens a
trajectory). It is never rebuilt: what it appended is in the event store. Its handled
event ids live in ``public.reactor_handled``; the events it appends use deterministic ids
(:func:`reaction_id`), so even a reactor run twice appends once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable
from uuid import UUID, uuid5

import asyncpg

from passend_backbone.consumer.deliveries import Delivery, RawEvent
from passend_backbone.eventstore import EventStore
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload

_REACTION_NAMESPACE = UUID("6f1d3a52-6c1e-4d5a-9a49-8e0f5b8c2a11")


class Projection(Protocol):
    """Consumed events -> read-model tables (idempotent, order-insensitive across topics)."""

    name: str  # unique within the service; also part of the consumer group id
    topics: tuple[str, ...]

    async def setup(self, conn: asyncpg.Connection) -> None:
        """Create this projection's tables (unqualified names; search_path is set)."""

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        """Apply one event inside the runner's transaction (unqualified table names)."""


@runtime_checkable
class BatchProjection(Projection, Protocol):
    """A projection that can also apply a whole batch in a few statements.

    ``handle_batch`` must leave the tables exactly as ``handle`` of each delivery in
    order would (events of one case keep their order). The runner calls it with the new
    events of a batch; when it raises, the runner undoes it and applies the batch with
    ``handle`` one event at a time, so a poison event is found and set aside alone.
    """

    async def handle_batch(self, conn: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        """Apply ``deliveries`` in order inside the runner's transaction."""


@runtime_checkable
class RawBatchProjection(BatchProjection, Protocol):
    """A batch projection that can also apply events read as plain JSON (a rebuild's path).

    ``raw_types`` are the event types (newest versions) it takes as :class:`RawEvent`
    (id, type, subject, swv and the JSON body); events of other types, and the first of
    each shape, come as parsed :class:`Delivery` s in the same batch, in order.
    ``handle_raw_batch`` must leave the tables exactly as ``handle`` of each event in order
    would. If it raises, the rebuild applies that batch through the contract instead.
    """

    raw_types: frozenset[str]

    async def handle_raw_batch(
        self, conn: asyncpg.Connection, events: Sequence[RawEvent | Delivery]
    ) -> None:
        """Apply ``events`` in order inside the rebuild's transaction."""


class Reactor(Protocol):
    """Consumed events -> own events, appended in the same transaction as the handled mark."""

    name: str
    topics: tuple[str, ...]

    async def react(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        payload: EventPayload,
        store: EventStore,
    ) -> None:
        """Decide and append with ``store.append(..., conn=conn)``."""


def reaction_id(reactor: str, cause: UUID, index: int = 0) -> UUID:
    """The deterministic id of the ``index``-th event ``reactor`` appends because of ``cause``."""
    return uuid5(_REACTION_NAMESPACE, f"{reactor}:{cause}:{index}")
