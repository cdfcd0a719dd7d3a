"""Helpers for the assignment integration tests: a migrated store, events, a running service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer

from passend_assignment.reactors import RoutingReactor
from passend_backbone import db
from passend_backbone.auth import Principal, Role
from passend_backbone.commands import CommandPorts, PostgresIdempotency, PostgresTransactions
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_backbone.eventstore import EventStore, Metadata, PostgresEventStore, RecordedEvent
from passend_backbone.kafka_settings import producer_settings
from passend_backbone.lifecycle import serve
from passend_backbone.service import ServiceContext, ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import RequestSubmitted, SupportLevel
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from tests.topics import on_broker

SWV = "swv-waterweg"


def settings_for(db_url: str, broker: Broker | None = None, **overrides: Any) -> ServiceSettings:
    auth = auth_env()
    values: dict[str, Any] = {
        "database_url": db_url,
        # The scheduler tests need no broker; the settings still name one.
        "kafka_bootstrap_servers": broker.bootstrap_servers if broker else "127.0.0.1:1",
        "kafka_broker_kind": broker.kind if broker else "tansu",
        "http_port": free_port(),
        "auth_issuer": auth["AUTH_ISSUER"],
        "auth_audience": auth["AUTH_AUDIENCE"],
        "auth_jwks": auth["AUTH_JWKS"],
        **overrides,
    }
    return ServiceSettings(**values)


async def migrated_store(db_url: str) -> tuple[asyncpg.Pool, EventStore]:
    """A pool on ``db_url`` with the backbone's and assignment's tables, and its store."""
    pool = await db.create_pool(db_url, max_size=20)
    await db.migrate(pool, [BACKBONE_MIGRATIONS, "passend_assignment.migrations"])
    return pool, PostgresEventStore(pool, "/passend/assignment")


def submission(
    *,
    worker: str = "ow-anouk",
    school: str = "brin-11aa",
    at: datetime,
    multiple_problems: bool = False,
    case_id: UUID | None = None,
) -> RequestSubmitted:
    return RequestSubmitted(
        case_id=case_id or uuid4(),
        school_id=school,
        ib_id="ib-marieke",
        addressed_worker_id=worker,
        pupil_ref="leerling-042",
        levels=[SupportLevel.PUPIL],
        educational_need="Leest traag en de spelling blijft achter",
        tried_in_basic_support="Extra leesbeurten in de klas",
        why_stuck="Geen groei op de toetsen na een half jaar",
        multiple_problems=multiple_problems,
        specialist_advised=False,
        submitted_at=at,
        # What intake finds in these words with the dev directory's keywords (W24): routing
        # reads the areas, never the words, which reach it sealed.
        need_areas=["reading"],
    )


def as_cloud_event(payload: RequestSubmitted, swv: str = SWV) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/intake",
        type=payload.event_type,
        subject=str(payload.case_id),
        time=payload.submitted_at,
        swv=swv,
        correlationid=str(uuid4()),
        causationid=f"submit:{uuid4()}",
        actor="ib-marieke",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


async def route(
    pool: asyncpg.Pool, store: EventStore, payload: RequestSubmitted, now: datetime
) -> None:
    """What the routing reactor does when intake's event arrives, without the broker."""
    reactor = RoutingReactor(clock=lambda: now)
    async with pool.acquire() as conn, conn.transaction():
        await reactor.react(conn, as_cloud_event(payload), payload, store)


async def publish(broker: Broker, *events: CloudEvent, topic: str = topics.INTAKE) -> None:
    """Put events on intake's topic (or ``topic``), as the producing service's relay would."""
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers,
        **producer_settings(broker.kind),  # type: ignore[arg-type]
    )
    await producer.start()
    try:
        for event in events:
            key, headers, value = event.to_kafka()
            await producer.send_and_wait(on_broker(topic), value, key=key, headers=headers)
    finally:
        await producer.stop()


def ports(pool: asyncpg.Pool, store: EventStore) -> CommandPorts:
    """The command ports the running service uses (``ServiceContext.commands``)."""
    return CommandPorts(store, PostgresTransactions(pool), PostgresIdempotency())


def support_worker(subject: str, unit: str | None = "wu-vlaardingen", swv: str = SWV) -> Principal:
    return Principal(subject=subject, role=Role.SUPPORT_WORKER, swv=swv, work_unit_id=unit)


def meta_of(principal: Principal) -> Metadata:
    return Metadata(
        swv=principal.swv,
        actor=principal.subject,
        correlation_id=str(uuid4()),
        causation_id=f"test:{uuid4()}",
    )


def types_of(records: list[RecordedEvent]) -> list[str]:
    return [r.event_type.split(".")[-2] for r in records]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def context(
    db_url: str, pool: asyncpg.Pool, store: EventStore, clock: Callable[[], datetime]
) -> ServiceContext:
    return ServiceContext("assignment", settings_for(db_url), pool, store, clock)


@asynccontextmanager
async def running(
    spec: ServiceSpec, settings: ServiceSettings, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[str]:
    """The service running until the block ends; yields its base URL."""
    stop, ready = asyncio.Event(), asyncio.Event()
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    task = asyncio.create_task(serve(spec, settings, stop, ready=ready, **kwargs))

    async def started() -> bool:
        return ready.is_set() or task.done()

    await eventually(started, timeout=60, what="assignment service ready")
    if task.done():
        await task
    try:
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
