"""What a service is made of (:class:`ServiceSpec`) and what its parts get (`ServiceContext`).

These are the shared types only; :mod:`passend_backbone.lifecycle` runs a spec.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI

from passend_backbone.audit.readlog import MIGRATIONS as AUDIT_MIGRATIONS
from passend_backbone.commands.execute import CommandPorts
from passend_backbone.commands.idempotency import PostgresIdempotency
from passend_backbone.commands.transactions import PostgresTransactions
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_backbone.eventstore.port import EventStore
from passend_backbone.http_errors import LargeBody
from passend_backbone.settings import ServiceSettings


def utc_now() -> datetime:
    """The wall clock as an aware UTC datetime (the default ``ServiceContext.clock``)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceContext:
    """What a service's app, handlers and background work get from the lifecycle."""

    name: str
    settings: ServiceSettings
    pool: asyncpg.Pool
    store: EventStore
    clock: Callable[[], datetime] = utc_now

    @property
    def commands(self) -> CommandPorts:
        """Where this service's commands read and write (see ``commands.execute``)."""
        return CommandPorts(self.store, PostgresTransactions(self.pool), PostgresIdempotency())


@dataclass(frozen=True)
class DeadlineCount:
    """One kind of deadline of a service: how many are due now and how many were missed."""

    kind: str
    due: int
    missed: int


@dataclass(frozen=True)
class GaugeReading:
    """One value of a service's own gauge, measured at scrape time (``ServiceSpec.gauges``)."""

    name: str  # the metric's name, e.g. passend_gateway_held_events
    help: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


# Work a service runs next to its API until the stop event is set (schedulers, workers).
Background = Callable[[ServiceContext, asyncio.Event], Awaitable[None]]
# Work that must be done before the service answers its first request (``before_serving``).
BeforeServing = Callable[[ServiceContext], Awaitable[None]]
# A service's deadlines, counted at scrape time (``ServiceSpec.deadlines``).
DeadlineSource = Callable[[ServiceContext], Awaitable[Sequence[DeadlineCount]]]
# A service's own gauges, read at every scrape (``ServiceSpec.gauges``): keep it cheap.
GaugeSource = Callable[[ServiceContext], Awaitable[Sequence[GaugeReading]]]


@dataclass(frozen=True)
class ServiceSpec:
    """Everything that makes a service what it is; the composition module builds one."""

    name: str
    topic: str
    migrations: str
    create_app: Callable[[ServiceContext], FastAPI]
    projections: Sequence[Projection] = ()
    reactors: Sequence[Reactor] = ()
    background: Sequence[Background] = ()
    # Counted at every scrape into passend_deadlines_due / _missed (see metrics.py).
    deadlines: Sequence[DeadlineSource] = ()
    # Gauges of the service's own, measured at every scrape (see metrics.py).
    gauges: Sequence[GaugeSource] = ()
    # The service's own settings, loaded by ``main`` before anything starts, so a wrong
    # value stops the process naming its variable (e.g. ``lambda: load_config(Cfg)``).
    config: Sequence[Callable[[], object]] = ()
    # Run once at start, after the migrations and before the HTTP port opens: a step that
    # fails stops the start (e.g. intake applying erasures again after a restore).
    before_serving: Sequence[BeforeServing] = ()
    # Paths that take bodies over HTTP_MAX_BODY_BYTES (an upload), each with its own limit.
    large_bodies: Sequence[LargeBody] = ()

    @property
    def migration_packages(self) -> list[str]:
        """Every migration package of the service, in the order they are applied: the
        backbone's, the audit read log's, the service's own."""
        return [BACKBONE_MIGRATIONS, AUDIT_MIGRATIONS, self.migrations]

    @property
    def consumed_topics(self) -> list[str]:
        """Every topic a projection or reactor of this service reads, sorted."""
        consumers: list[Projection | Reactor] = [*self.projections, *self.reactors]
        return sorted({t for c in consumers for t in c.topics})
