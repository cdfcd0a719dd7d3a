"""Helpers for intake's integration tests: the service running once per module, and bodies."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from passend_backbone import db
from passend_backbone.auth import Role
from passend_backbone.eventstore import EventStore, PostgresEventStore
from passend_backbone.kafka_settings import BrokerKind, producer_settings
from passend_backbone.lifecycle import serve
from passend_backbone.settings import ServiceSettings
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from passend_intake.service import SPEC
from tests.conftest import create_database
from tests.topics import on_broker

SWV = "swv-waterweg"
SCHOOL = "school-04ab"
NOW = datetime(2026, 9, 14, 8, 30, tzinfo=UTC)
PARENT = "guardian-1f4e"

BODY: dict[str, Any] = {
    "school_id": SCHOOL,
    "addressed_worker_id": "worker-0192",
    "pupil_ref": "pupil-5e81c2",
    "pupil": {
        "name": "Sam Jansen",
        "date_of_birth": "2016-04-12",
        "parents": [
            {
                "parent_ref": PARENT,
                "name": "J. Jansen",
                "email": "j.jansen@example.nl",
                "phone": "0612345678",
            }
        ],
    },
    "levels": ["pupil"],
    "educational_need": "Needs a quiet place to start and a clear day structure.",
    "tried_in_basic_support": "Visual timetable and a fixed seat for 8 weeks.",
    "why_stuck": "Outbursts continue; the teacher can't give the attention needed.",
    "multiple_problems": False,
    "specialist_advised": True,
}


def body(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BODY)
    out["pupil_ref"] = f"pupil-{uuid4().hex[:8]}"
    out.update(changes)
    return out


def ib(school: str = SCHOOL, subject: str = "ib-7731", swv: str = SWV) -> dict[str, str]:
    return auth_header(Role.IB, swv, subject=subject, school_id=school)


def worker(subject: str = "worker-0192") -> dict[str, str]:
    return auth_header(Role.SUPPORT_WORKER, SWV, subject=subject, work_unit_id="wu-1")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Intake:
    """The running service, its database and its clock."""

    http: httpx.AsyncClient
    pool: asyncpg.Pool
    store: EventStore
    clock: Clock
    broker: Broker

    async def submit(self, data: dict[str, Any] | None = None, **headers: str) -> str:
        answer = await self.http.post(
            "/requests",
            json=data or body(),
            headers={**ib(), "Idempotency-Key": str(uuid4()), **headers},
        )
        assert answer.status_code == 201, answer.text
        case_id: str = answer.json()["case_id"]
        return case_id

    async def visible(self, case_id: str, headers: dict[str, str] | None = None) -> Any:
        """The request once the read model shows it (and ``check`` holds)."""

        async def probe() -> Any:
            r = await self.http.get(f"/requests/{case_id}", headers=headers or ib())
            return r.json() if r.status_code == 200 else None

        return await eventually(probe, timeout=30, what=f"request {case_id} visible")

    async def pseudonym(self, case_id: str) -> str:
        """Intake's pseudonym of the case's pupil (a teacher's token names pupils by it)."""
        shown = await self.visible(case_id)
        return str(shown["pupil_ref"])

    async def event_types(self, case_id: str) -> list[str]:
        return [e.event_type.split(".")[-2] for e in await self.store.read_stream(case_id)]

    async def all_event_text(self) -> str:
        rows = await self.pool.fetch("SELECT data::text AS d FROM events")
        return "\n".join(r["d"] for r in rows)

    async def count(self, table: str) -> int:
        value: int = await self.pool.fetchval(f"SELECT count(*) FROM {table}")
        return value


def settings_for(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    values: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": broker.bootstrap_servers,
        "kafka_broker_kind": broker.kind,
        "http_port": free_port(),
        "auth_issuer": auth["AUTH_ISSUER"],
        "auth_audience": auth["AUTH_AUDIENCE"],
        "auth_jwks": auth["AUTH_JWKS"],
    }
    return ServiceSettings(**values)


@asynccontextmanager
async def running_intake(database: Database, broker: Broker) -> AsyncIterator[Intake]:
    """Intake on a fresh database, served until the block ends."""
    url = await create_database(database, prefix="intake")
    settings = settings_for(url, broker)
    clock = Clock(NOW)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(SPEC, settings, stop, ready=ready, clock=clock))

    async def started() -> bool:
        return ready.is_set() or task.done()

    await eventually(started, timeout=60, what="intake ready")
    if task.done():
        await task
    pool = await db.create_pool(url)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10)
    try:
        yield Intake(http, pool, PostgresEventStore(pool, "/passend/intake"), clock, broker)
    finally:
        await http.aclose()
        await pool.close()
        stop.set()
        await asyncio.wait_for(task, 30)


async def publish(broker: Broker, swv: str, *payloads: EventPayload) -> None:
    """Put other services' events on their topics, as those services would."""
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers,
        **producer_settings(cast(BrokerKind, broker.kind)),
    )
    await producer.start()
    try:
        for payload in payloads:
            data = json.loads(payload.model_dump_json())
            event = CloudEvent(
                id=uuid4(),
                source="/passend/test",
                type=payload.event_type,
                subject=str(data.get("case_id") or data.get("school_id") or data.get("swv_id")),
                time=NOW,
                swv=swv,
                correlationid=str(uuid4()),
                causationid=str(uuid4()),
                actor="test",
                streamversion=1,
                position=1,
                data=data,
            )
            key, headers, value = event.to_kafka()
            await producer.send_and_wait(on_broker(payload.topic), value, key=key, headers=headers)
    finally:
        await producer.stop()


async def on_the_bus(broker: Broker, case_id: str, event_type: str) -> tuple[CloudEvent, bytes]:
    """The record of ``event_type`` for the case on intake's topic, and its raw value."""
    consumer = AIOKafkaConsumer(
        on_broker(topics.INTAKE),
        bootstrap_servers=broker.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:

        async def found() -> tuple[CloudEvent, bytes] | None:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = CloudEvent.from_kafka(record.headers, record.value)
                    if event.subject == case_id and event.type == event_type:
                        return event, bytes(record.value)
            return None

        return await eventually(found, timeout=30, interval=0, what=f"{event_type} on the bus")
    finally:
        await consumer.stop()
