"""Runs one service: database, migrations, topic check, outbox relay, consumers, HTTP, shutdown.

A service declares itself with a :class:`~passend_backbone.service.ServiceSpec`; its console script
``passend-<svc>`` (the image's entrypoint) calls :func:`main`, which serves, or runs an
operator command (``migrate``, ``republish``, ``rebuild``, ``verify``) when given one;
tests call :func:`serve`. Shutdown (SIGTERM or SIGINT) is bounded by
:data:`SHUTDOWN_SECONDS` and goes in the order that loses nothing: stop taking HTTP work,
let consumers commit their in-flight batch, stop background work, let the relay publish
what was appended, then close the producer and the pool. What the relay doesn't publish
before a hard stop stays in the store and goes out at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import uvloop
from aiokafka.client import AIOKafkaClient
from fastapi import FastAPI
from structlog.stdlib import BoundLogger

from passend_backbone import db, kafka_io, opscli, topics
from passend_backbone.auth.dependency import install_verifier
from passend_backbone.auth.tokens import verifier_for
from passend_backbone.consumer.inline import InlineProjections
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.correlation import CorrelationIdMiddleware
from passend_backbone.deadletters.api import dead_letter_router
from passend_backbone.deadletters.desk import desk_for
from passend_backbone.eventstore.store import PostgresEventStore
from passend_backbone.health import Readiness, health_router
from passend_backbone.http_errors import (
    BodySizeLimit,
    declare_problem_answers,
    install_backbone_error_handlers,
)
from passend_backbone.http_server import Server, bind, serve_http
from passend_backbone.kafka_settings import (
    KafkaSecuritySettings,
    client_security_settings,
    consumer_settings,
    producer_settings,
    security_summary,
)
from passend_backbone.logs import configure_logging, get_logger
from passend_backbone.metrics import RequestMetricsMiddleware, ServiceMetrics, metrics_router
from passend_backbone.relay import OutboxRelay
from passend_backbone.service import ServiceContext, ServiceSpec, utc_now
from passend_backbone.settings import ServiceSettings, load_settings
from passend_backbone.texts import keys as text_keys
from passend_backbone.texts.opening import OpenSealedTexts

# From the stop signal to exit. Orchestrators kill after 30 s by default; stay well below.
SHUTDOWN_SECONDS = 10.0


def main(spec: ServiceSpec, argv: Sequence[str] | None = None) -> None:
    """Console entry: settings from env, JSON logging, run until SIGTERM/SIGINT, exit 0.

    ``argv`` (default: the command line after the program name) empty serves; otherwise
    it is an operator command (``passend-<svc> migrate``, ...) whose exit code is the
    process's. A wrong setting stops the process before anything starts, with a message
    naming the variable; a crash of any part exits 1 after shutting the rest down.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        sys.exit(opscli.run_ops_command(spec, args))
    settings = load_settings()
    for load in spec.config:
        load()
    # Every service seals the free texts about a pupil its events carry (passend_backbone.texts).
    text_keys.check_key_ring()
    configure_logging(spec.name, level=settings.log_level, fmt=settings.log_format)
    log = get_logger("passend.runtime")
    try:
        # uvloop: the event loop in C; request handling and the Kafka and database clients
        # spend a noticeable share of their time in the loop itself.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve_until_signalled(spec, settings))
    except Exception:
        log.exception("service_failed")
        sys.exit(1)
    log.info("service_stopped")


async def _serve_until_signalled(spec: ServiceSpec, settings: ServiceSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    log = get_logger("passend.runtime")

    def on_signal(sig: signal.Signals) -> None:
        log.info("stop_requested", signal=sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    await serve(spec, settings, stop)


async def serve(
    spec: ServiceSpec,
    settings: ServiceSettings,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Run ``spec`` until ``stop`` is set; set ``ready`` once HTTP listens.

    ``clock`` becomes ``ServiceContext.clock`` (tests pass one they can move).

    Raises when starting fails or a part (relay, HTTP server, background task) crashes,
    after shutting down what had started.
    """
    log = get_logger("passend.runtime")
    log_delivery_settings(log, settings)
    run = _Run(spec, settings, log, clock)
    try:
        await run.start()
        if ready is not None:
            ready.set()
        await run.supervise(stop)
    finally:
        await run.shutdown()
    if run.failure is not None:
        raise RuntimeError(f"service {spec.name} stopped because {run.failure}")


def log_delivery_settings(log: BoundLogger, settings: ServiceSettings) -> None:
    """One line saying how delivery works in this process: the exact client settings.

    ``producer`` and ``consumer`` are the keyword arguments every producer (outbox relay,
    dead-letter producer) and every consumer group of the service is created with; the
    flat keys repeat the ones operators look for. The SASL password is never logged.
    """
    kind = settings.kafka_broker_kind
    producer = producer_settings(kind)
    consumer = consumer_settings(kind)
    log.info(
        "delivery_settings",
        broker_kind=kind,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        producer_acks=producer["acks"],
        producer_idempotence=producer["enable_idempotence"],
        consumer_auto_commit=consumer["enable_auto_commit"],
        consumer_ack_policy=ACK_POLICY,
        consumer_isolation_level=consumer["isolation_level"],
        consumer_session_timeout_ms=consumer["session_timeout_ms"],
        consumer_heartbeat_interval_ms=consumer["heartbeat_interval_ms"],
        outbox_delivery="at least once, in position order; checkpoint after every ack",
        producer=producer,
        consumer=consumer,
        **security_summary(KafkaSecuritySettings()),
        republish_on_start=settings.republish_on_start,
    )


# How consumers acknowledge, in the words of the start-up log.
ACK_POLICY = (
    "manual (FastStream batch subscribers): offsets committed after the batch's database "
    "transaction committed; an event whose handler fails 3 times is dead-lettered; "
    "transient failures (deadlocks, lost connections) are retried without limit"
)


class _Run:
    """The parts of one running service, started in order and stopped in reverse."""

    def __init__(
        self,
        spec: ServiceSpec,
        settings: ServiceSettings,
        log: BoundLogger,
        clock: Callable[[], datetime],
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.settings = settings
        self.log = log
        self.failure: str | None = None
        self.pool: asyncpg.Pool | None = None
        self.producer: Any = None
        self.metadata_client: Any = None
        self.relay_stop = asyncio.Event()
        self.background_stop = asyncio.Event()
        self.relay_task: asyncio.Task[None] | None = None
        self.runner: Consumers | None = None
        self.background_tasks: list[asyncio.Task[None]] = []
        self.server: Server | None = None
        self.http_task: asyncio.Task[None] | None = None
        self.readiness: Readiness | None = None
        self.topics_probe: topics.TopicsProbe | None = None
        self.metrics = ServiceMetrics(spec.name)

    @property
    def migration_packages(self) -> list[str]:
        # The same list as ``passend-<svc> migrate`` applies, so readiness agrees with it.
        return self.spec.migration_packages

    async def start(self) -> None:
        spec, settings = self.spec, self.settings
        bootstrap, kind = settings.kafka_bootstrap_servers, settings.kafka_broker_kind
        prefix = settings.kafka_topic_prefix  # the topics' names on the broker start with it
        own_topic = prefix + spec.topic
        self.pool = pool = await db.create_pool(settings.database_url)
        applied = await db.migrate(pool, self.migration_packages)
        if applied:
            self.log.info("migrations_applied", migrations=applied)
        store = PostgresEventStore(pool, f"/passend/{spec.name}")
        # The service's own events reach its own read models in the appending transaction.
        inline = InlineProjections(spec.projections, spec.topic, store.source)
        if inline:
            store.apply_in_transaction(inline.apply)
        ctx = ServiceContext(spec.name, settings, pool, store, self.clock)

        # Topics are the operator's (passend-ops topics apply): check, never create. The
        # service runs either way and says in its readiness what is wrong.
        self.topics_probe = topics.TopicsProbe(
            topics.KafkaTopics(bootstrap),
            topics.ServiceTopics.of_spec(spec).wanted(prefix),
            topics.Durability(
                settings.kafka_replication_factor, settings.kafka_min_insync_replicas
            ),
        )
        problem = await self.topics_probe.problem()
        if problem:
            self.log.error("topics_not_as_planned", problem=problem)
        self.producer = await kafka_io.start_producer(bootstrap, kind)
        self.metadata_client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=5000, **client_security_settings()
        )
        await self.metadata_client.bootstrap()
        metrics = self.metrics

        relay = OutboxRelay(
            pool,
            store,
            self.producer,
            own_topic,
            source=store.source,
            log=get_logger("passend.outbox"),
            on_published=metrics.events_published,
        )
        # What was published before this start isn't counted again if it is republished.
        metrics.start_counting_appends_after(await relay.checkpoint())
        metrics.watch_outbox(pool, own_topic)
        if settings.republish_on_start:
            # The broker lost its topics (the dev broker keeps nothing across restarts):
            # publish the whole store again; consumers skip what they already handled.
            self.log.info("republishing_all_events", topic=own_topic)
            await relay.reset(0)
        self.relay_task = asyncio.create_task(relay.run(self.relay_stop), name="outbox-relay")

        if spec.projections or spec.reactors:
            self.runner = Consumers(
                service=spec.name,
                pool=pool,
                bootstrap=bootstrap,
                kind=kind,
                projections=list(spec.projections),
                reactors=list(spec.reactors),
                store=store,
                log=get_logger("passend.consumer"),
                on_dead_letter=metrics.message_dead_lettered,
                on_unknown_type=metrics.unknown_type_skipped,
                topic_prefix=prefix,
                # Applied in the appending transaction: the consumers only confirm it.
                own_topic=spec.topic if inline else None,
            )
            await self.runner.start(producer=self.producer)
            metrics.watch_consumers(self.runner, [p.name for p in spec.projections])
        metrics.watch_deadlines(ctx, spec.deadlines)
        metrics.watch_gauges(ctx, spec.gauges)

        for work in spec.background:
            name = getattr(work, "__name__", "background")
            task = asyncio.create_task(_await(work(ctx, self.background_stop)), name=name)
            self.background_tasks.append(task)

        for step in spec.before_serving:
            await step(ctx)
        self.readiness = Readiness(self._probes(pool))
        app = spec.create_app(ctx)
        if spec.projections or spec.reactors:
            # Operators list, acknowledge and replay this service's dead letters here.
            app.include_router(dead_letter_router(desk_for(spec, settings, pool)))
        self._prepare_app(app, self.readiness)
        await self._start_http(app)

    def _probes(self, pool: asyncpg.Pool) -> dict[str, Callable[[], Awaitable[str | None]]]:
        packages = self.migration_packages
        client = self.metadata_client
        topics_probe = self.topics_probe
        assert topics_probe is not None, "start() checks the topics first"

        async def database() -> str | None:
            await pool.fetchval("SELECT 1")
            return None

        async def migrations() -> str | None:
            pending = await db.pending_migrations(pool, packages)
            return f"pending: {', '.join(pending)}" if pending else None

        async def broker() -> str | None:
            # A metadata request: the cheapest call that proves a broker answers.
            await client.fetch_all_metadata()
            return None

        return {
            "database": database,
            "migrations": migrations,
            "broker": broker,
            "topics": topics_probe.problem,
        }

    def _prepare_app(self, app: FastAPI, readiness: Readiness) -> None:
        # Before health and metrics: those declare their own answers.
        declare_problem_answers(app)
        app.include_router(health_router(readiness))
        app.include_router(metrics_router(self.metrics))
        # Innermost: answers leave with the free texts they hold opened for their reader.
        pool = self.pool
        assert pool is not None, "start() opens the pool first"
        app.add_middleware(OpenSealedTexts, keys=text_keys.PostgresTextKeys(), connect=pool.acquire)
        # The last added runs first: the correlation id is bound before anything logs.
        app.add_middleware(RequestMetricsMiddleware, metrics=self.metrics)
        app.add_middleware(CorrelationIdMiddleware)
        # Outermost: an oversized body is refused before any other work is done.
        app.add_middleware(
            BodySizeLimit,
            max_bytes=self.settings.http_max_body_bytes,
            larger=self.spec.large_bodies,
        )
        install_backbone_error_handlers(app)
        if getattr(app.state, "token_verifier", None) is None:
            verifier = verifier_for(
                issuer=self.settings.auth_issuer,
                audience=self.settings.auth_audience,
                jwks=self.settings.auth_jwks,
                trusted=self.settings.auth_trusted_issuers,
            )
            install_verifier(app.state, verifier)

    async def _start_http(self, app: FastAPI) -> None:
        host, port = self.settings.http_host, self.settings.http_port
        sock = bind(host, port)
        bound_port = sock.getsockname()[1]
        self.server = Server(app, graceful_seconds=int(SHUTDOWN_SECONDS / 2))
        self.http_task = asyncio.create_task(serve_http(self.server, sock), name="http")
        started = asyncio.create_task(self.server.listening.wait())
        await asyncio.wait({started, self.http_task}, return_when=asyncio.FIRST_COMPLETED)
        if not self.server.listening.is_set():
            started.cancel()
            await self.http_task  # raises what stopped it
            raise RuntimeError("the HTTP server stopped while starting")
        self.log.info(
            "http_listening",
            host=host,
            port=bound_port,
            url=f"http://{host}:{bound_port}",
            docs=f"http://{host}:{bound_port}/docs",
        )

    async def supervise(self, stop: asyncio.Event) -> None:
        """Wait for ``stop``, or for a part that ends on its own (a crash)."""
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        parts = {t for t in (self.relay_task, self.http_task) if t is not None}
        watched = {stopping, *parts, *self.background_tasks}
        while True:
            # The timeout is for the consumer loops, which report failure only when asked.
            done, _ = await asyncio.wait(watched, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                return
            consumer_error = self.runner.failed if self.runner is not None else None
            if consumer_error is not None:
                self.failure = f"a consumer failed: {consumer_error!r}"
                self.log.error("service_part_failed", part="consumers", exc_info=consumer_error)
                stopping.cancel()
                return
            for task in done:
                watched.discard(task)
                error = None if task.cancelled() else task.exception()
                if error is not None:
                    self.failure = f"{task.get_name()} failed: {error!r}"
                elif task in parts:
                    self.failure = f"{task.get_name()} ended on its own"
                else:
                    continue  # a background task may finish early
                self.log.error("service_part_failed", part=task.get_name(), exc_info=error)
                stopping.cancel()
                return

    async def shutdown(self) -> None:
        """Stop everything in order, within :data:`SHUTDOWN_SECONDS` in total."""
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        self.log.info("shutting_down", within_seconds=SHUTDOWN_SECONDS)
        if self.readiness is not None:
            self.readiness.draining = True
        if self.server is not None and self.http_task is not None:
            self.server.should_exit = True
            await self._bounded(self.http_task, deadline, "http")
        if self.runner is not None:
            await self._bounded(self.runner.stop(), deadline, "consumers")
        self.background_stop.set()
        for task in self.background_tasks:
            await self._bounded(task, deadline, task.get_name())
        self.relay_stop.set()
        if self.relay_task is not None:
            await self._bounded(self.relay_task, deadline, "outbox-relay")
        if self.producer is not None:
            await self._bounded(self.producer.stop(), deadline, "producer")
        if self.metadata_client is not None:
            await self._bounded(self.metadata_client.close(), deadline, "metadata-client")
        if self.pool is not None:
            pool = self.pool
            if not await self._bounded(pool.close(), deadline, "database-pool"):
                pool.terminate()
        self.log.info("shutdown_complete")

    async def _bounded(self, work: Awaitable[Any], deadline: float, what: str) -> bool:
        """Await ``work`` until ``deadline``; cancel it then. True when it ended by itself."""
        task = work if isinstance(work, asyncio.Task) else asyncio.ensure_future(work)
        remaining = max(deadline - time.monotonic(), 0.1)
        done, _ = await asyncio.wait({task}, timeout=remaining)
        if not done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            self.log.warning("shutdown_step_cancelled", step=what, reason="out of time")
            return False
        if task.cancelled():
            return False
        if task.exception() is not None:
            self.log.error("shutdown_step_failed", step=what, exc_info=task.exception())
            return False
        return True


async def _await(work: Awaitable[None]) -> None:
    await work
