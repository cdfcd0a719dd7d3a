"""Helpers for the trajectory integration tests: store, facts of other services, the service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from passend_backbone import db
from passend_backbone.db import BACKBONE_MIGRATIONS
from passend_backbone.eventstore import EventStore, PostgresEventStore
from passend_backbone.lifecycle import serve
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentConfirmed, ConsentMethod, ConsentWithdrawn
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from passend_trajectory.reactors import ClaimReactor, IntakeReactor

SWV = "swv-waterweg"
WORKER = "ow-anouk"
IB = "ib-marieke"
SCHOOL = "brin-11aa"
T0 = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings_for(db_url: str, broker: Broker | None = None, **overrides: Any) -> ServiceSettings:
    auth = auth_env()
    values: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": broker.bootstrap_servers if broker else "127.0.0.1:1",
        "kafka_broker_kind": broker.kind if broker else "tansu",
        "http_port": free_port(),
        "auth_issuer": auth["AUTH_ISSUER"],
        "auth_audience": auth["AUTH_AUDIENCE"],
        "auth_jwks": auth["AUTH_JWKS"],
        **overrides,
    }
    return ServiceSettings(**values)


async def migrated_store(db_url: str) -> tuple[asyncpg.Pool, PostgresEventStore]:
    """A pool on ``db_url`` with the backbone's and trajectory's tables, and its store."""
    pool = await db.create_pool(db_url, max_size=10)
    await db.migrate(pool, [BACKBONE_MIGRATIONS, "passend_trajectory.migrations"])
    return pool, PostgresEventStore(pool, "/passend/trajectory")


def cloud_event(
    payload: EventPayload, source: str, swv: str = SWV, at: datetime = T0
) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source=source,
        type=payload.event_type,
        # A case's events have the case as subject; the directory's, the SWV's directory.
        subject=str(getattr(payload, "case_id", None) or f"directory:{swv}"),
        time=at,
        swv=swv,
        correlationid=str(uuid4()),
        causationid=f"cmd:{uuid4()}",
        actor="someone",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


def claimed(case_id: UUID, worker: str = WORKER, school: str = SCHOOL) -> CaseClaimed:
    return CaseClaimed(case_id=case_id, school_id=school, ib_id=IB, worker_id=worker, claimed_at=T0)


def consent_confirmed(case_id: UUID, at: datetime = T0) -> ConsentConfirmed:
    return ConsentConfirmed(
        case_id=case_id,
        confirmed_by="guardian-1",
        method=ConsentMethod.START_CONVERSATION,
        confirmed_at=at,
    )


def consent_withdrawn(case_id: UUID, at: datetime) -> ConsentWithdrawn:
    return ConsentWithdrawn(case_id=case_id, withdrawn_by="guardian-1", withdrawn_at=at)


async def deliver(
    pool: asyncpg.Pool,
    store: EventStore,
    payload: EventPayload,
    *,
    swv: str = SWV,
    clock: Callable[[], datetime] = lambda: T0,
    event: CloudEvent | None = None,
) -> CloudEvent:
    """What the trajectory's reactors do when another service's event arrives (no broker)."""
    assignment = isinstance(payload, CaseClaimed) or "assignment" in payload.event_type
    reactor = ClaimReactor(clock) if assignment else IntakeReactor(clock)
    source = "/passend/assignment" if assignment else "/passend/intake"
    event = event or cloud_event(payload, source, swv)
    async with pool.acquire() as conn, conn.transaction():
        await reactor.react(conn, event, payload, store)
    return event


def headers(role: str, subject: str, swv: str = SWV, **claims: str | None) -> dict[str, str]:
    return auth_header(role, swv, subject=subject, **claims)


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

    await eventually(started, timeout=60, what="trajectory service ready")
    if task.done():
        await task
    try:
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
