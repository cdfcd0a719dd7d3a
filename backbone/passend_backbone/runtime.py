"""Runs one service: database, migrations, topics, outbox relay, consumers, HTTP, shutdown.

A service declares itself with a :class:`ServiceSpec`; its console script
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
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import uvicorn
import uvloop
from aiokafka.client import AIOKafkaClient
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.stdlib import BoundLogger

from passend_backbone import db, kafka_io, opscli
from passend_backbone.audit.readlog import MIGRATIONS as AUDIT_MIGRATIONS
from passend_backbone.auth.dependency import install_verifier
from passend_backbone.auth.keys import KeySet
from passend_backbone.auth.tokens import TokenVerifier
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_backbone.consumer.runner import ConsumerRunner
from passend_backbone.eventstore import EventStore
from passend_backbone.health import Readiness, health_router
from passend_backbone.kafka_settings import (
    KafkaSecuritySettings,
    client_security_settings,
    consumer_settings,
    producer_settings,
    security_summary,
)
from passend_backbone.logs import configure_logging, get_logger, log_context
from passend_backbone.metrics import (
    DeadlineSource,
    RequestMetricsMiddleware,
    ServiceMetrics,
    metrics_router,
)
from passend_backbone.outbox import OutboxRelay
from passend_backbone.settings import ServiceSettings, load_settings

# The backbone's own tables (events, outbox position, consumer bookkeeping), migrated
# before the service's.
BACKBONE_MIGRATIONS = "passend_backbone.migrations"
# From the stop signal to exit. Orchestrators kill after 30 s by default; stay well below.
SHUTDOWN_SECONDS = 10.0
CORRELATION_HEADER = "X-Correlation-ID"
_CORRELATION_ID_MAX = 128

Background = Callable[["ServiceContext", asyncio.Event], Awaitable[None]]


def utc_now() -> datetime:
    """The wall clock as an aware UTC datetime (the default ``ServiceContext.clock``)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceContext:
    """What a service's app, handlers and background work get from the runtime."""

    name: str
    settings: ServiceSettings
    pool: asyncpg.Pool
    store: EventStore
    clock: Callable[[], datetime] = utc_now


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
    # The service's own settings, loaded by ``main`` before anything starts, so a wrong
    # value stops the process naming its variable (e.g. ``lambda: load_config(Cfg)``).
    config: Sequence[Callable[[], object]] = ()

    @property
    def consumed_topics(self) -> list[str]:
        """Every topic a projection or reactor of this service reads, sorted."""
        consumers: list[Projection | Reactor] = [*self.projections, *self.reactors]
        return sorted({t for c in consumers for t in c.topics})


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
    "manual: offsets committed after the batch's database transaction committed; "
    "a failing record is retried 3 times, then dead-lettered, then committed"
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
        self.runner: ConsumerRunner | None = None
        self.background_tasks: list[asyncio.Task[None]] = []
        self.server: _Server | None = None
        self.http_task: asyncio.Task[None] | None = None
        self.readiness: Readiness | None = None
        self.metrics = ServiceMetrics(spec.name)

    @property
    def migration_packages(self) -> list[str]:
        # The same list as ``passend-<svc> migrate`` applies, so readiness agrees with it.
        return [BACKBONE_MIGRATIONS, AUDIT_MIGRATIONS, self.spec.migrations]

    async def start(self) -> None:
        spec, settings = self.spec, self.settings
        bootstrap, kind = settings.kafka_bootstrap_servers, settings.kafka_broker_kind
        self.pool = pool = await db.create_pool(settings.database_url)
        applied = await db.migrate(pool, self.migration_packages)
        if applied:
            self.log.info("migrations_applied", migrations=applied)
        store = EventStore(pool, f"/passend/{spec.name}")
        ctx = ServiceContext(spec.name, settings, pool, store, self.clock)

        # Consumers may start before the producing service ever ran: create every topic
        # this service touches, with the partition count the contracts fix.
        await kafka_io.ensure_topics(bootstrap, sorted({spec.topic, *spec.consumed_topics}))
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
            spec.topic,
            source=store.source,
            log=get_logger("passend.outbox"),
            on_published=metrics.events_published,
        )
        # What was published before this start isn't counted again if it is republished.
        metrics.start_counting_appends_after(await relay.checkpoint())
        metrics.watch_outbox(pool, spec.topic)
        if settings.republish_on_start:
            # The broker lost its topics (the dev broker keeps nothing across restarts):
            # publish the whole store again; consumers skip what they already handled.
            self.log.info("republishing_all_events", topic=spec.topic)
            await relay.reset(0)
        self.relay_task = asyncio.create_task(relay.run(self.relay_stop), name="outbox-relay")

        if spec.projections or spec.reactors:
            self.runner = ConsumerRunner(
                service=spec.name,
                pool=pool,
                bootstrap=bootstrap,
                kind=kind,
                projections=list(spec.projections),
                reactors=list(spec.reactors),
                store=store,
                log=get_logger("passend.consumer"),
                on_dead_letter=metrics.message_dead_lettered,
            )
            await self.runner.start()
            metrics.watch_consumers(self.runner, [p.name for p in spec.projections])
        metrics.watch_deadlines(ctx, spec.deadlines)

        for work in spec.background:
            name = getattr(work, "__name__", "background")
            task = asyncio.create_task(_await(work(ctx, self.background_stop)), name=name)
            self.background_tasks.append(task)

        self.readiness = Readiness(self._probes(pool))
        app = spec.create_app(ctx)
        self._prepare_app(app, self.readiness)
        await self._start_http(app)

    def _probes(self, pool: asyncpg.Pool) -> dict[str, Callable[[], Awaitable[str | None]]]:
        packages = self.migration_packages
        client = self.metadata_client

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

        return {"database": database, "migrations": migrations, "broker": broker}

    def _prepare_app(self, app: FastAPI, readiness: Readiness) -> None:
        app.include_router(health_router(readiness))
        app.include_router(metrics_router(self.metrics))
        # The last added runs first: the correlation id is bound before anything logs.
        app.add_middleware(RequestMetricsMiddleware, metrics=self.metrics)
        app.add_middleware(CorrelationIdMiddleware)
        if getattr(app.state, "token_verifier", None) is None:
            keys = KeySet(self.settings.auth_jwks)
            verifier = TokenVerifier(
                issuer=self.settings.auth_issuer, audience=self.settings.auth_audience, keys=keys
            )
            install_verifier(app.state, verifier)

    async def _start_http(self, app: FastAPI) -> None:
        host, port = self.settings.http_host, self.settings.http_port
        # Bind here rather than in uvicorn: with port 0 this is how the actual port is known.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise RuntimeError(
                f"can't listen on {host}:{port} ({exc.strerror}): set HTTP_PORT to a free port"
            ) from exc
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=int(SHUTDOWN_SECONDS / 2),
        )
        listening = asyncio.Event()
        self.server = _Server(config, listening)
        self.http_task = asyncio.create_task(_serve_http(self.server, sock), name="http")
        started = asyncio.create_task(listening.wait())
        await asyncio.wait({started, self.http_task}, return_when=asyncio.FIRST_COMPLETED)
        if not listening.is_set():
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


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (the runtime owns SIGTERM and SIGINT)."""

    def __init__(self, config: uvicorn.Config, listening: asyncio.Event) -> None:
        super().__init__(config)
        self._listening = listening

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._listening.set()


async def _serve_http(server: _Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        # uvicorn exits the process when the app's lifespan startup fails; here that is
        # an error of this task, handled like any other.
        raise RuntimeError(f"the HTTP server could not start (exit code {exc.code})") from None
    finally:
        sock.close()


class CorrelationIdMiddleware:
    """Takes ``X-Correlation-ID`` from the request (or makes one) and binds it to the logs.

    The id is echoed in the response, put in ``request.state.correlation_id`` and, when the
    caller sent none, added to the request headers, so handlers read it one way only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = CORRELATION_HEADER.lower().encode()
        sent = next((v for k, v in scope["headers"] if k == header), None)
        correlation_id = _usable_correlation_id(sent)
        if correlation_id is None:
            correlation_id = str(uuid.uuid4())
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k != header),
                (header, correlation_id.encode()),
            ]
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        with log_context(correlation_id=correlation_id):
            await self.app(scope, receive, send_with_id)


def _usable_correlation_id(raw: bytes | None) -> str | None:
    """The caller's id if it is short printable ASCII (it ends up in logs and events)."""
    if not raw or len(raw) > _CORRELATION_ID_MAX:
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() and " " not in text else None
