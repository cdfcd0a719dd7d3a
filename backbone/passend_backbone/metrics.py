"""Prometheus metrics of one service: counters kept while it runs, gauges measured at scrape.

``GET /metrics`` (no token: it holds no personal data, only event types, consumer names,
route templates and counts) answers in the Prometheus text format. Counters and the HTTP
histogram count what this process did since it started; the gauges are measured when
scraped, each source bounded in time, with cheap queries (index look-ups, no scans):

=========================================== ==================================================
``passend_events_appended_total``           events stored, by ``event_type``; counted when
                                            the relay first publishes them (so only
                                            committed events count, and a republish doesn't)
``passend_outbox_backlog_events``           events stored but not yet published
``passend_outbox_backlog_age_seconds``      age of the oldest unpublished event (0 if none)
``passend_consumer_lag_records``            records behind the fetch highwater, by
                                            ``consumer``, ``topic``, ``partition``
``passend_projection_lag_records``          the same summed per ``projection``
``passend_projection_last_applied_timestamp_seconds`` broker time of the last record a
                                            projection committed
``passend_dead_lettered_messages_total``    records sent to a dead-letter topic, by
                                            ``consumer`` and source ``topic``
``passend_unknown_event_types_skipped_total`` records skipped because the contracts don't
                                            know their type, by ``consumer``, ``event_type``
``passend_deadlines_due``                   open deadlines whose moment has come, by ``kind``
``passend_deadlines_missed``                deadlines passed without the action, by ``kind``
``passend_http_request_duration_seconds``   HTTP latency, by ``method``, ``route`` (the
                                            template, e.g. ``/cases/{case_id}``), ``status``
``passend_metrics_source_up``               1 when a scrape-time source answered, by ``source``
=========================================== ==================================================

A service adds gauges of its own with ``ServiceSpec.gauges`` (e.g. the gateway's
``passend_gateway_held_events``), measured at scrape time like the deadlines.

Every metric also carries the ``service`` label.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypedDict

import asyncpg
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.subscribers import ConsumerProgress
from passend_backbone.logs import log_context
from passend_backbone.service import (
    DeadlineCount,
    DeadlineSource,
    GaugeReading,
    GaugeSource,
    ServiceContext,
)


class _HasProgress(Protocol):
    def progress(self) -> Sequence[ConsumerProgress]: ...


# Bounds each scrape-time source: a slow database must not make the scrape time out.
SOURCE_TIMEOUT = 2.0
# Requests that match no route share one label value (bounded cardinality).
UNMATCHED_ROUTE = "<unmatched>"
# Distinct unknown event types counted by name; more share the label value OTHER_TYPES.
MAX_UNKNOWN_TYPES = 50
OTHER_TYPES = "<other>"
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def deadline_query(sql: str, *, projection: str | None = None) -> DeadlineSource:
    """A :data:`DeadlineSource` from one query returning rows ``(kind, due, missed)``.

    ``$1`` is the service clock's now. With ``projection`` the query runs in that
    projection's active read model (unqualified table names), else in the public schema.
    Keep it to an index look-up: it runs at every scrape.
    """

    async def count(ctx: ServiceContext) -> Sequence[DeadlineCount]:
        if projection is None:
            rows = await ctx.pool.fetch(sql, ctx.clock())
        else:
            async with read_model(ctx.pool, projection) as conn:
                rows = await conn.fetch(sql, ctx.clock())
        return [DeadlineCount(str(r[0]), int(r[1] or 0), int(r[2] or 0)) for r in rows]

    return count


_OUTBOX = """
SELECT coalesce((SELECT max(position) FROM events), 0) AS head,
       coalesce((SELECT position FROM outbox_checkpoint WHERE topic = $1), 0) AS checkpoint
"""
_OLDEST_UNPUBLISHED = """
SELECT extract(epoch FROM clock_timestamp() - recorded_at)::float8
FROM events WHERE position > $1 ORDER BY position LIMIT 1
"""


class _Own(TypedDict):
    """Keyword arguments that put a metric in a service's own collector set."""

    registry: CollectorRegistry


class ServiceMetrics:
    """The metrics of one running service, in a registry of its own."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.collectors = CollectorRegistry(auto_describe=True)
        labels = ["service"]
        own: _Own = {"registry": self.collectors}  # this service's own set of metrics
        self.events_appended = Counter(
            "passend_events_appended",
            "Events stored, counted when the outbox relay first publishes them",
            [*labels, "event_type"],
            **own,
        )
        self.dead_lettered = Counter(
            "passend_dead_lettered_messages",
            "Consumed records sent to a dead-letter topic",
            [*labels, "consumer", "topic"],
            **own,
        )
        self.unknown_types = Counter(
            "passend_unknown_event_types_skipped",
            "Consumed records skipped because the contracts do not know their event type",
            [*labels, "consumer", "event_type"],
            **own,
        )
        self._own_gauges: dict[str, Gauge] = {}
        self._own = own  # where gauges made at scrape time go too
        self.http_latency = Histogram(
            "passend_http_request_duration_seconds",
            "HTTP request latency",
            [*labels, "method", "route", "status"],
            buckets=_HTTP_BUCKETS,
            **own,
        )
        self.outbox_backlog = Gauge(
            "passend_outbox_backlog_events",
            "Events stored but not yet published (max position minus relay checkpoint)",
            labels,
            **own,
        )
        self.outbox_backlog_age = Gauge(
            "passend_outbox_backlog_age_seconds",
            "Seconds since the oldest unpublished event was stored (0 when none)",
            labels,
            **own,
        )
        self.consumer_lag = Gauge(
            "passend_consumer_lag_records",
            "Records behind the partition's fetch highwater",
            [*labels, "consumer", "topic", "partition"],
            **own,
        )
        self.projection_lag = Gauge(
            "passend_projection_lag_records",
            "Records a projection is behind, over all its partitions",
            [*labels, "projection"],
            **own,
        )
        self.projection_applied_at = Gauge(
            "passend_projection_last_applied_timestamp_seconds",
            "Broker timestamp of the last record a projection committed",
            [*labels, "projection"],
            **own,
        )
        self.deadlines_due = Gauge(
            "passend_deadlines_due",
            "Open deadlines whose moment has come and that are not handled yet",
            [*labels, "kind"],
            **own,
        )
        self.deadlines_missed = Gauge(
            "passend_deadlines_missed",
            "Deadlines that passed without the action they ask for",
            [*labels, "kind"],
            **own,
        )
        self.source_up = Gauge(
            "passend_metrics_source_up",
            "1 when a scrape-time source answered in time, else 0",
            [*labels, "source"],
            **own,
        )
        self._counted_up_to: int | None = None
        self._unknown_seen: set[str] = set()
        self._sources: dict[str, Callable[[], Awaitable[None]]] = {}

    # Hooks for the outbox relay and the consumer runner.

    def start_counting_appends_after(self, position: int) -> None:
        """Events up to ``position`` were published before: a republish doesn't count them."""
        self._counted_up_to = position

    def events_published(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """The relay published ``rows`` (``position``, ``event_type``) and checkpointed them."""
        highest = self._counted_up_to
        for row in rows:
            position = int(row["position"])
            if highest is not None and position <= highest:
                continue
            self.events_appended.labels(self.service, str(row["event_type"])).inc()
            highest = position
        self._counted_up_to = highest

    def message_dead_lettered(self, consumer: str, topic: str) -> None:
        """The runner sent a record of ``topic`` to the dead-letter topic."""
        self.dead_lettered.labels(self.service, consumer, topic).inc()

    def unknown_type_skipped(self, consumer: str, event_type: str) -> None:
        """The runner skipped a record of a type the contracts don't know."""
        if len(self._unknown_seen) >= MAX_UNKNOWN_TYPES and event_type not in self._unknown_seen:
            event_type = OTHER_TYPES  # a producer sending random types can't flood the series
        self._unknown_seen.add(event_type)
        self.unknown_types.labels(self.service, consumer, event_type).inc()

    # Scrape-time sources.

    def add_source(self, name: str, measure: Callable[[], Awaitable[None]]) -> None:
        """Run ``measure`` (which sets gauges) at every scrape, bounded by SOURCE_TIMEOUT."""
        self._sources[name] = measure

    def watch_outbox(self, pool: asyncpg.Pool, topic: str) -> None:
        """Measure the outbox backlog and its age at scrape time."""

        async def measure() -> None:
            async with pool.acquire() as conn:
                row = await conn.fetchrow(_OUTBOX, topic)
                backlog = max(int(row["head"]) - int(row["checkpoint"]), 0)
                age = 0.0
                if backlog:
                    found = await conn.fetchval(_OLDEST_UNPUBLISHED, int(row["checkpoint"]))
                    age = max(float(found or 0.0), 0.0)
            self.outbox_backlog.labels(self.service).set(backlog)
            self.outbox_backlog_age.labels(self.service).set(age)

        self.add_source("outbox", measure)

    def watch_consumers(self, consumers: _HasProgress, projections: Sequence[str]) -> None:
        """Measure consumer lag per partition, and per projection, at scrape time."""
        names = set(projections)

        async def measure() -> None:
            self.consumer_lag.clear()
            totals: dict[str, int] = dict.fromkeys(names, 0)
            for progress in consumers.progress():
                for (topic, partition), lag in progress.lag.items():
                    labels = (self.service, progress.name, topic, str(partition))
                    self.consumer_lag.labels(*labels).set(lag)
                    if progress.name in names:
                        totals[progress.name] += lag
                if progress.name in names and progress.last_applied_ms is not None:
                    applied = progress.last_applied_ms / 1000
                    self.projection_applied_at.labels(self.service, progress.name).set(applied)
            for name, total in totals.items():
                self.projection_lag.labels(self.service, name).set(total)

        self.add_source("consumers", measure)

    def watch_deadlines(self, ctx: ServiceContext, sources: Sequence[DeadlineSource]) -> None:
        """Count the service's deadlines at scrape time."""

        async def measure() -> None:
            counts: list[DeadlineCount] = []
            for source in sources:
                counts.extend(await source(ctx))
            self.deadlines_due.clear()
            self.deadlines_missed.clear()
            for count in counts:
                self.deadlines_due.labels(self.service, count.kind).inc(count.due)
                self.deadlines_missed.labels(self.service, count.kind).inc(count.missed)

        if sources:
            self.add_source("deadlines", measure)

    def watch_gauges(self, ctx: ServiceContext, sources: Sequence[GaugeSource]) -> None:
        """Measure the service's own gauges (``ServiceSpec.gauges``) at scrape time."""

        async def measure() -> None:
            readings: list[GaugeReading] = []
            for source in sources:
                readings.extend(await source(ctx))
            for gauge in self._own_gauges.values():
                gauge.clear()
            for reading in readings:
                found = self._own_gauges.get(reading.name)
                if found is None:
                    found = Gauge(
                        reading.name,
                        reading.help,
                        ["service", *sorted(reading.labels)],
                        **self._own,
                    )
                    self._own_gauges[reading.name] = found
                values = [reading.labels[k] for k in sorted(reading.labels)]
                found.labels(self.service, *values).set(reading.value)

        if sources:
            self.add_source("service_gauges", measure)

    async def refresh(self) -> None:
        """Run every scrape-time source at once; one that fails or hangs is reported down."""
        names = list(self._sources)
        results = await asyncio.gather(
            *(self._measure(self._sources[n]) for n in names), return_exceptions=False
        )
        for name, up in zip(names, results, strict=True):
            self.source_up.labels(self.service, name).set(1 if up else 0)

    @staticmethod
    async def _measure(measure: Callable[[], Awaitable[None]]) -> bool:
        try:
            async with asyncio.timeout(SOURCE_TIMEOUT):
                await measure()
        except Exception:  # a failing source is reported by source_up, not raised
            return False
        return True

    async def exposition(self) -> bytes:
        """The current metrics in the Prometheus text format."""
        await self.refresh()
        return generate_latest(self.collectors)


def metrics_router(metrics: ServiceMetrics) -> APIRouter:
    """``GET /metrics``."""
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def scrape() -> Response:
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router


class RequestMetricsMiddleware:
    """Times each request under its route template and binds ``case_id`` to its logs.

    Routing happens inside the app, after this middleware; the router writes the matched
    route and its path parameters into the request's scope before the endpoint runs. So
    the ``case_id`` bound here is read from the scope when a line is logged: every line
    of a request to a route with a ``{case_id}`` parameter names the case (an opaque
    UUID, not personal data), and lines of other requests say ``null``.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app raises before answering
        started = time.perf_counter()

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with log_context(case_id=RoutedCaseId(scope)):
                await self.app(scope, receive, send_recording_status)
        finally:
            self.metrics.http_latency.labels(
                self.metrics.service, scope.get("method", "GET"), route_template(scope), str(status)
            ).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request (after routing)."""
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RoutedCaseId:
    """The request's ``case_id`` path parameter, looked up when a log line is rendered."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    @property
    def value(self) -> str | None:
        params = self._scope.get("path_params") or {}
        case_id = params.get("case_id")
        return None if case_id is None else str(case_id)

    def __structlog__(self) -> str | None:  # the JSON renderer's hook
        return self.value

    def __repr__(self) -> str:  # the console renderer's
        return repr(self.value)

    def __str__(self) -> str:
        return str(self.value)

    def __eq__(self, other: object) -> bool:
        return self.value == (other.value if isinstance(other, RoutedCaseId) else other)

    def __hash__(self) -> int:
        return hash(self.value)
