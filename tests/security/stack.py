"""The services under test in one event loop, on fresh databases, and two seeded tenants.

Tenant A and tenant B get directories and cases with *the same* school, work unit, worker
and pupil ids, so only the tenant tells them apart: a check that scopes by ids alone
would leak, and the tests would see it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer

from passend_backbone.auth import Role
from passend_backbone.kafka_settings import producer_settings
from passend_backbone.lifecycle import serve
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import DocumentKind
from passend_contracts.events.trajectory import TrajectoryClosed
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.test_tokens import auth_header as token_header
from passend_devstack.waiting import eventually
from tests import sample_documents
from tests.conftest import create_database
from tests.topics import on_broker

SWV_A = "swv-a"
SWV_B = "swv-b"
SCHOOL = "sch-1"
OTHER_SCHOOL = "sch-2"
UNIT = "wu-1"
OTHER_UNIT = "wu-2"
WORKER = "w-1"  # receives the cases (addressed by the IB)
COLLEAGUE = "w-3"  # same work unit, not addressed
STRANGER = "w-9"  # another work unit
IB = "ib-1"
COACH = "rc-1"
REGION = "r-1"
OTHER_REGION = "r-2"
PARENT = "par-1"
# Direct identifiers of the pupil: unusual enough that a hit anywhere is a leak.
PUPIL_NAME = "Quirijn Zwanenburg-Oostveen"
PUPIL_BIRTH = "2015-02-27"
PARENT_NAME = "Hieronymus Zwanenburg"
PARENT_EMAIL = "h.zwanenburg.7731@example.org"
PARENT_PHONE = "0687654321"
IDENTIFIERS = (PUPIL_NAME, PUPIL_BIRTH, PARENT_NAME, PARENT_EMAIL, PARENT_PHONE)

SERVICE_NAMES = ("intake", "assignment", "trajectory", "notifications", "gateway")


def auth_header(role: Role | str, swv: str, **claims: Any) -> dict[str, str]:
    """A bearer token for these claims, and the reason for reading (the read log asks it)."""
    return {**token_header(role, swv, **claims), "X-Purpose": "security test"}


def directory(swv: str) -> dict[str, Any]:
    """The same directory for every tenant (ids repeat on purpose)."""
    return {
        "swv_id": swv,
        "name": f"SWV {swv}",
        "education_specialist_id": "os-1",
        "route_coach_id": COACH,
        "work_units": [
            {"work_unit_id": UNIT, "name": "Unit 1", "coordinator_id": "co-1"},
            {"work_unit_id": OTHER_UNIT, "name": "Unit 2", "coordinator_id": "co-2"},
        ],
        "workers": [
            {"worker_id": WORKER, "work_unit_id": UNIT, "weekly_case_hours": 20},
            {"worker_id": COLLEAGUE, "work_unit_id": UNIT, "weekly_case_hours": 20},
            {"worker_id": STRANGER, "work_unit_id": OTHER_UNIT, "weekly_case_hours": 20},
        ],
        "schools": [
            {"school_id": SCHOOL, "name": "School 1", "municipality": "GM0622"},
            {"school_id": OTHER_SCHOOL, "name": "School 2", "municipality": "GM0606"},
        ],
    }


def request_body(pupil_ref: str, school: str = SCHOOL) -> dict[str, Any]:
    return {
        "school_id": school,
        "addressed_worker_id": WORKER,
        "pupil_ref": pupil_ref,
        "pupil": {
            "name": PUPIL_NAME,
            "date_of_birth": PUPIL_BIRTH,
            "parents": [
                {
                    "parent_ref": PARENT,
                    "name": PARENT_NAME,
                    "email": PARENT_EMAIL,
                    "phone": PARENT_PHONE,
                }
            ],
        },
        "levels": ["pupil"],
        "educational_need": "Needs a quiet place to start the day.",
        "tried_in_basic_support": "A fixed seat and a visual timetable.",
        "why_stuck": "Outbursts continue despite the timetable.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


def settings_for(
    db_url: str, broker: Broker, trusted: Sequence[dict[str, Any]] = ()
) -> ServiceSettings:
    """A service's settings: the test issuer as its own, and ``trusted`` issuers besides
    (``AUTH_TRUSTED_ISSUERS``: the provider of machine clients, the portal)."""
    auth = auth_env()
    values: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": broker.bootstrap_servers,
        "kafka_broker_kind": broker.kind,
        "http_port": free_port(),
        "auth_issuer": auth["AUTH_ISSUER"],
        "auth_audience": auth["AUTH_AUDIENCE"],
        "auth_jwks": auth["AUTH_JWKS"],
        "auth_trusted_issuers": list(trusted),
    }
    return ServiceSettings(**values)


def spec_of(name: str, settings: ServiceSettings) -> ServiceSpec:
    """The service's spec as its ``__main__`` builds it."""
    if name == "gateway":
        from passend_gateway.config import GatewayConfig
        from passend_gateway.service import build_spec

        return build_spec(settings, GatewayConfig())
    module = importlib.import_module(f"passend_{name}.service")
    spec: ServiceSpec = module.SPEC
    return spec


@dataclass
class Service:
    name: str
    url: str
    db_url: str
    http: httpx.AsyncClient
    spec: ServiceSpec | None = None  # None when it runs as its own process


@dataclass
class Stack:
    services: dict[str, Service]
    broker: Broker
    cases: dict[str, str] = field(default_factory=dict)  # tenant -> the seeded case id
    pupil_refs: dict[str, str] = field(default_factory=dict)  # tenant -> the school's ref
    # tenant -> intake's pseudonym of that pupil: what the events and teachers' tokens say
    pseudonyms: dict[str, str] = field(default_factory=dict)
    # tenant -> document kind -> the id of the seeded case's document of that kind
    documents: dict[str, dict[str, str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Service:
        return self.services[name]


# (name, settings, services started so far) -> the service's spec, or None for the usual one.
SpecFor = Callable[[str, ServiceSettings, dict[str, Service]], ServiceSpec | None]


@asynccontextmanager
async def running_stack(
    database: Database,
    broker: Broker,
    names: list[str],
    clock: Callable[[], datetime],
    trusted: Sequence[dict[str, Any]] = (),
    spec_for: SpecFor | None = None,
) -> AsyncIterator[Stack]:
    """The named services, each on its own fresh database, until the block ends; they
    trust the test issuer and the ``trusted`` issuers. ``spec_for`` may give a service's
    spec instead of its ``__main__``'s (it sees the services started before it)."""
    async with AsyncExitStack() as exits:
        services: dict[str, Service] = {}
        for name in names:
            db_url = await create_database(database, prefix=f"sec_{name}")
            settings = settings_for(db_url, broker, trusted)
            own = spec_for(name, settings, services) if spec_for is not None else None
            spec = own if own is not None else spec_of(name, settings)
            stop, ready = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(serve(spec, settings, stop, ready=ready, clock=clock))

            async def started(
                task: asyncio.Task[None] = task, ready: asyncio.Event = ready
            ) -> bool:
                return ready.is_set() or task.done()

            await eventually(started, timeout=90, what=f"{name} ready")
            if task.done():
                await task

            async def halt(stop: asyncio.Event = stop, task: asyncio.Task[None] = task) -> None:
                stop.set()
                await asyncio.wait_for(task, 30)

            exits.push_async_callback(halt)
            url = f"http://127.0.0.1:{settings.http_port}"
            # Idle connections end here before the server's keep-alive (5 s) ends them: a
            # request on a connection the server is closing would be cut off.
            http = httpx.AsyncClient(
                base_url=url, timeout=20, limits=httpx.Limits(keepalive_expiry=2)
            )
            exits.push_async_callback(http.aclose)
            services[name] = Service(name, url, db_url, http, spec)
        yield Stack(services, broker)


async def publish(broker: Broker, swv: str, *payloads: EventPayload) -> None:
    """Put events on their topics as their producing service would (for a missing one)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers,
        **producer_settings(broker.kind),  # type: ignore[arg-type]
    )
    await producer.start()
    try:
        for payload in payloads:
            data = json.loads(payload.model_dump_json())
            event = CloudEvent(
                id=uuid4(),
                source="/passend/test",
                type=payload.event_type,
                subject=str(data["case_id"]),
                time=datetime.now(UTC),
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


async def seed_tenant(stack: Stack, swv: str) -> str:
    """Directory, one case (routed, route coach called in, escalated) of ``swv``; its id."""
    from passend_contracts.events.trajectory import EscalatedToTeamNO, StagnationReason

    operator = auth_header(Role.OPERATOR, swv, subject="op-1")
    put = await stack["assignment"].http.put("/directory", json=directory(swv), headers=operator)
    assert put.status_code == 200, put.text
    pupil_ref = f"p-{uuid4().hex[:8]}"
    ib = auth_header(Role.IB, swv, subject=IB, school_id=SCHOOL)
    created = await stack["intake"].http.post(
        "/requests",
        json=request_body(pupil_ref),
        headers={**ib, "Idempotency-Key": str(uuid4())},
    )
    assert created.status_code == 201, created.text
    case_id: str = created.json()["case_id"]
    specialist = auth_header(Role.EDUCATION_SPECIALIST, swv, subject="os-1")

    async def routed() -> bool:
        r = await stack["assignment"].http.get(f"/cases/{case_id}", headers=specialist)
        return r.status_code == 200

    await eventually(routed, timeout=60, what=f"case {case_id} routed")
    called = await stack["assignment"].http.post(
        f"/cases/{case_id}/route-coach", json={"reason": "cooperation stalls"}, headers=ib
    )
    assert called.status_code == 200, called.text
    if "trajectory" in stack.services:
        # Claimed, so that trajectory opens the case's trajectory.
        claimer = auth_header(Role.SUPPORT_WORKER, swv, subject=WORKER, work_unit_id=UNIT)
        claimed = await stack["assignment"].http.post(f"/cases/{case_id}/claim", headers=claimer)
        assert claimed.status_code == 200, claimed.text

        async def opened() -> bool:
            r = await stack["trajectory"].http.get(
                f"/cases/{case_id}/trajectory", headers=specialist
            )
            return r.status_code == 200

        await eventually(opened, timeout=60, what=f"trajectory of {case_id} opened")
    # An escalation to Team NO of REGION, put on trajectory's topic as trajectory would
    # (intake and the gateway learn the case's Team NO region from it).
    await publish(
        stack.broker,
        swv,
        EscalatedToTeamNO(
            case_id=case_id,
            municipality="GM0622",
            region=REGION,
            reasons=[next(iter(StagnationReason))],
            draft_plan="Bridging care two mornings a week.",
            escalated_at=datetime.now(UTC),
        ),
    )
    coach = auth_header(Role.ROUTE_COACH, swv, subject=COACH)
    team_no = auth_header(Role.TEAM_NO_MEMBER, swv, subject="tn-1", region=REGION)

    async def intake_knows_all() -> bool:
        a = await stack["intake"].http.get(f"/requests/{case_id}", headers=coach)
        b = await stack["intake"].http.get(f"/requests/{case_id}", headers=team_no)
        return a.status_code == 200 and b.status_code == 200

    await eventually(intake_knows_all, timeout=60, what=f"intake scoped case {case_id}")
    # Trajectory and notifications learn the route coach and the Team NO region from the
    # same events: wait until they scope the case too.
    scoped = [
        (stack[name].http, path)
        for name, path in (
            ("trajectory", f"/cases/{case_id}/trajectory"),
            ("notifications", f"/cases/{case_id}/notifications"),
        )
        if name in stack.services
    ]

    async def others_know_all() -> bool:
        for http, path in scoped:
            for headers in (coach, team_no):
                if (await http.get(path, headers=headers)).status_code != 200:
                    return False
        return True

    await eventually(others_know_all, timeout=60, what=f"services scoped case {case_id}")
    stack.cases[swv] = case_id
    stack.pupil_refs[swv] = pupil_ref
    shown = await stack["intake"].http.get(f"/requests/{case_id}", headers=ib)
    assert shown.status_code == 200, shown.text
    stack.pseudonyms[swv] = shown.json()["pupil_ref"]
    assert stack.pseudonyms[swv] != pupil_ref  # issue 20: the school's ref stays in intake
    if "intake" in stack.services:
        stack.documents[swv] = await attach_every_kind(stack, swv, case_id)
    return case_id


async def attach_every_kind(stack: Stack, swv: str, case_id: str) -> dict[str, str]:
    """One document of each kind on the case, attached by the SWV's education specialist
    (who may attach every kind); kind -> document id."""
    specialist = auth_header(Role.EDUCATION_SPECIALIST, swv, subject="os-1")
    found = {}
    for kind in DocumentKind:
        attached = await stack["intake"].http.post(
            f"/requests/{case_id}/documents",
            data={"kind": kind.value, "description": f"Matrix: {kind.value}"},
            files={"file": (f"{kind.value}.pdf", sample_documents.pdf(), "application/pdf")},
            headers=specialist,
        )
        assert attached.status_code == 201, attached.text
        found[kind.value] = str(attached.json()["document_id"])
    return found


async def run_full_case(stack: Stack) -> tuple[str, str]:
    """Submitted, routed, claimed, contacted, consented, closed; (case id, intake's
    pseudonym of the pupil)."""
    case_id = await seed_tenant(stack, SWV_A)
    worker = auth_header(Role.SUPPORT_WORKER, SWV_A, subject=WORKER, work_unit_id=UNIT)
    ib = auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL)
    assignment, intake = stack["assignment"].http, stack["intake"].http
    steps = [
        (assignment, f"/cases/{case_id}/claim", None, worker),
        (
            assignment,
            f"/cases/{case_id}/first-contact",
            {"contacted_at": datetime.now(UTC).isoformat()},
            worker,
        ),
        (
            intake,
            f"/requests/{case_id}/consent/requests",
            {"method": "start_conversation", "parent_refs": [PARENT]},
            ib,
        ),
        (
            intake,
            f"/requests/{case_id}/consent/confirmations",
            {"parent_ref": PARENT, "method": "start_conversation"},
            worker,
        ),
    ]
    for client, path, body, headers in steps:
        answer = await client.post(path, json=body, headers=headers)
        assert answer.status_code in (200, 201), f"{path}: {answer.text}"
    await publish(
        stack.broker,
        SWV_A,
        TrajectoryClosed(
            case_id=case_id,
            closed_by=WORKER,
            closed_at=datetime.now(UTC),
        ),
    )
    return case_id, stack.pseudonyms[SWV_A]
