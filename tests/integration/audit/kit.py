"""The four services running in this process with the audit API mounted, and a mixed scenario."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_assignment.domain.case import evolve as assignment_evolve
from passend_assignment.service import SPEC as ASSIGNMENT
from passend_backbone import db
from passend_backbone.audit import audit_router, cli, fold_with
from passend_backbone.audit.kafka_check import topic_event_ids
from passend_backbone.auth import Role
from passend_backbone.lifecycle import serve
from passend_backbone.service import ServiceContext, ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_devstack.infra import Broker, Database, free_port, tansu_broker
from passend_devstack.test_tokens import auth_env, auth_header, token_for
from passend_devstack.waiting import eventually
from passend_gateway.config import GatewayConfig
from passend_gateway.service import build_spec as gateway_spec
from passend_intake.domain.state import CaseState as IntakeState
from passend_intake.domain.state import evolve as intake_evolve
from passend_intake.service import SPEC as INTAKE
from passend_notifications.config import NotificationSettings
from passend_notifications.service import build_spec as notifications_spec
from passend_trajectory.domain.evolve import evolve as trajectory_evolve
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.service import SPEC as TRAJECTORY
from tests.conftest import create_database
from tests.topics import apply_for

SWV = "swv-waterweg"
SCHOOL = "brin-11aa"
WORKER = "ow-anouk"
IB = "ib-marieke"
PARENT = "ouder-1"
NAMES = ("intake", "assignment", "trajectory", "notifications")

IB_AUTH = auth_header(Role.IB, SWV, subject=IB, school_id=SCHOOL)
WORKER_AUTH = auth_header(Role.SUPPORT_WORKER, SWV, subject=WORKER, work_unit_id="wu-vlaardingen")
SPECIALIST_AUTH = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject="os-jeroen")
AUDITOR_AUTH = auth_header(Role.AUDITOR, SWV, subject="auditor-inspectie")
AUDITOR_TOKEN = token_for(Role.AUDITOR, SWV, subject="auditor-inspectie")

# How each service would mount the audit API: its own pure fold for the state as of a moment.
STATE_FOLDS: dict[str, Any] = {
    "intake": fold_with(intake_evolve, IntakeState()),
    "assignment": fold_with(assignment_evolve, None),
    "trajectory": fold_with(trajectory_evolve, TrajectoryState()),
    "notifications": None,  # the generic summary
}


def with_audit(spec: ServiceSpec) -> ServiceSpec:
    """``spec`` whose app also serves ``/audit`` (what the one-line mount in api.py does)."""

    def create_app(ctx: ServiceContext) -> FastAPI:
        app = spec.create_app(ctx)
        mounted = any(getattr(r, "path", "").startswith("/audit/") for r in app.routes)
        if not mounted:  # every service mounts it itself; kept for specs that don't
            app.include_router(audit_router(ctx, state_as_of=STATE_FOLDS[spec.name]))
        return app

    return dataclasses.replace(spec, create_app=create_app)


class _AcceptAll:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def mail_sink() -> Iterator[int]:
    """An SMTP server that accepts every message (the notifications worker delivers to it)."""
    port = free_port()
    controller = Controller(_AcceptAll(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class System:
    """The running services: their URLs, database pools and specs."""

    broker: Broker
    urls: dict[str, str]
    db_urls: dict[str, str]
    pools: dict[str, asyncpg.Pool]
    specs: dict[str, ServiceSpec]
    http: httpx.AsyncClient
    cases: list[str] = field(default_factory=list)

    async def post(
        self, service: str, path: str, body: Any = None, *, auth: dict[str, str], expect: int
    ) -> dict[str, Any]:
        response = await self.http.post(f"{self.urls[service]}{path}", json=body, headers=auth)
        assert response.status_code == expect, f"{service} {path}: {response.text}"
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer

    async def audit(self, service: str, path: str, **params: str) -> httpx.Response:
        return await self.http.get(
            f"{self.urls[service]}/audit{path}",
            params={"purpose": "kwaliteitsonderzoek", **params},
            headers=AUDITOR_AUTH,
        )

    async def settled(self) -> None:
        """Wait until every event is published and every projection consumed its topics."""
        last: list[Any] = []

        async def fingerprint() -> tuple[Any, ...] | None:
            state: list[Any] = []
            for name, pool in self.pools.items():
                head = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
                done = await pool.fetchval(
                    "SELECT coalesce(max(position), 0) FROM outbox_checkpoint"
                )
                if head != done:
                    return None
                handled = await pool.fetchval("SELECT count(*) FROM reactor_handled")
                state.append((name, head, handled))
                for projection in self.specs[name].projections:
                    gen = await pool.fetchval(
                        "SELECT active FROM projection_generations WHERE projection = $1",
                        projection.name,
                    )
                    schema = f"rm_{projection.name}_{gen}"
                    rows = await pool.fetch(
                        f"SELECT topic, partition, next_offset FROM {schema}.consumed"
                    )
                    consumed = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
                    for topic in projection.topics:
                        _, _, highwaters = await topic_event_ids(
                            self.broker.bootstrap_servers, topic
                        )
                        for partition, highwater in highwaters.items():
                            if consumed.get((topic, partition), 0) != highwater:
                                return None
                    state.append((projection.name, sorted(consumed.items())))
            current = tuple(state)
            # Reactors show no offsets: a state seen twice in a row means they are done too.
            seen_before = bool(last) and last[-1] == current
            last.append(current)
            return current if seen_before else None

        await eventually(fingerprint, timeout=90, interval=0.5, what="all services settled")


def _settings(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings.model_validate(
        {
            "database_url": db_url,
            "kafka_bootstrap_servers": broker.bootstrap_servers,
            "kafka_broker_kind": broker.kind,
            "http_port": free_port(),
            "log_format": "console",
            "log_level": "warning",
            "auth_issuer": auth["AUTH_ISSUER"],
            "auth_audience": auth["AUTH_AUDIENCE"],
            "auth_jwks": auth["AUTH_JWKS"],
        }
    )


@asynccontextmanager
async def private_broker(shared: Broker, tmp: Path) -> AsyncIterator[Broker]:
    """A broker of this module's own: the services' topics and consumer groups have fixed
    names, so on the session's broker they would carry other tests' events and offsets.
    An external broker (KAFKA_BOOTSTRAP_SERVERS) is used as it is: give these tests one."""
    if shared.pid is None:
        yield shared
        return
    with tansu_broker(log=tmp / "tansu.log") as own:
        yield own


async def _started(name: str, task: asyncio.Task[None], ready: asyncio.Event) -> None:
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiting}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiting.cancel()
        if task.done():
            task.result()  # raises what stopped it
        raise AssertionError(f"{name} did not start within 60 s")


@asynccontextmanager
async def running_system(database: Database, shared: Broker, tmp: Path) -> AsyncIterator[System]:
    # The dev directory for this system only: other test modules on this worker start
    # assignment without one (a leaked variable changed their calendars).
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(DEV_FILE)
    try:
        async with _system(database, shared, tmp) as system:
            yield system
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before


@asynccontextmanager
async def _system(database: Database, shared: Broker, tmp: Path) -> AsyncIterator[System]:
    async with private_broker(shared, tmp) as broker:
        with mail_sink() as smtp_port:
            notifications = notifications_spec(
                NotificationSettings(
                    smtp_host="127.0.0.1",
                    smtp_port=smtp_port,
                    poll_seconds=0.2,
                    # No contacts are registered: park at once rather than retry later.
                    max_attempts=1,
                )
            )
            specs = {s.name: with_audit(s) for s in (INTAKE, ASSIGNMENT, TRAJECTORY, notifications)}
            # The operator's topics step, on this module's own broker.
            await apply_for(broker.bootstrap_servers, *specs.values())
            stop = asyncio.Event()
            tasks: list[asyncio.Task[None]] = []
            urls: dict[str, str] = {}
            db_urls: dict[str, str] = {}
            pools: dict[str, asyncpg.Pool] = {}
            try:
                for name in NAMES:
                    db_urls[name] = await create_database(database, prefix=f"audit_{name}")
                    settings = _settings(db_urls[name], broker)
                    ready = asyncio.Event()
                    task = asyncio.create_task(serve(specs[name], settings, stop, ready=ready))
                    tasks.append(task)
                    await _started(name, task, ready)
                    urls[name] = f"http://127.0.0.1:{settings.http_port}"
                    pools[name] = await db.create_pool(db_urls[name], max_size=4)
                # The integration gateway too: its store is verified like the others.
                db_urls["gateway"] = await create_database(database, prefix="audit_gateway")
                settings = _settings(db_urls["gateway"], broker)
                gateway = gateway_spec(
                    settings,
                    GatewayConfig(name="gateway", trajectory_url="https://trajectory.example.nl"),
                )
                await apply_for(broker.bootstrap_servers, gateway)
                ready = asyncio.Event()
                task = asyncio.create_task(serve(gateway, settings, stop, ready=ready))
                tasks.append(task)
                await _started("gateway", task, ready)
                urls["gateway"] = f"http://127.0.0.1:{settings.http_port}"
                # Idle connections end before the services' (5 s): a request never goes out
                # on a connection the service is closing (as the security stack's clients).
                limits = httpx.Limits(keepalive_expiry=2)
                async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                    yield System(broker, urls, db_urls, pools, specs, http)
            finally:
                stop.set()
                for task in tasks:
                    with contextlib.suppress(Exception):
                        await task
                for pool in pools.values():
                    await pool.close()


async def run_cli(
    system: System, *args: str, urls: dict[str, str] | None = None
) -> tuple[int, str]:
    """``passend-audit`` in a thread (it blocks on HTTP to services running in this loop)."""
    bases = {**system.urls, **(urls or {})}
    argv = [
        "--token",
        AUDITOR_TOKEN,
        *(f"--{n}-url={bases[n]}" for n in (*NAMES, "gateway")),
        *args,
    ]

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.run(argv)
        return code, out.getvalue()

    return await asyncio.to_thread(call)


# -- the scenario ---------------------------------------------------------------------------


def submission(pupil: str) -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": WORKER,
        "pupil_ref": pupil,
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [{"parent_ref": PARENT, "name": "M. Visser", "email": "m@example.nl"}],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en raakt snel overprikkeld in de klas.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een rustige werkplek.",
        "why_stuck": "Geen groei; de leerkracht weet niet wat nog helpt.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


def plan(today: str, target: str) -> dict[str, Any]:
    return {
        "goals": [
            {
                "goal_id": "lezen",
                "description": "Leest zelfstandig",
                "measure": "AVI E4",
                "target_date": target,
            }
        ],
        "supported": ["pupil", "teacher"],
        "form": "begeleiding van leerling en leerkracht",
        "school_participants": [IB, "lk-sanne"],
        "duration_weeks": 12,
        "frequency": "wekelijks",
        "parents_informed": "na elke evaluatie door de leerkracht",
        "evaluation_method": "evaluatiegesprek met IB, leerkracht en ouders",
        "evaluation_dates": [target],
        "securing": "aanpak in het groepsplan",
        "reason": None,
    }


async def submit(system: System, pupil: str) -> str:
    answer = await system.post(
        "intake",
        "/requests",
        submission(pupil),
        auth={**IB_AUTH, "Idempotency-Key": str(uuid4())},
        expect=201,
    )
    case_id: str = answer["case_id"]
    system.cases.append(case_id)
    return case_id


async def give_consent(system: System, case_id: str) -> None:
    method = "start_conversation"
    await system.post(
        "intake",
        f"/requests/{case_id}/consent/requests",
        {"method": method, "parent_refs": [PARENT]},
        auth=IB_AUTH,
        expect=201,
    )
    await system.post(
        "intake",
        f"/requests/{case_id}/consent/confirmations",
        {"parent_ref": PARENT, "method": method},
        auth=IB_AUTH,
        expect=201,
    )


async def claim(system: System, case_id: str) -> None:
    async def claimed() -> bool:
        r = await system.http.post(
            f"{system.urls['assignment']}/cases/{case_id}/claim", headers=WORKER_AUTH
        )
        return r.status_code == 200

    await eventually(claimed, timeout=60, interval=0.3, what=f"claim of {case_id}")


async def trajectory_view(
    system: System, case_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await system.http.get(
            f"{system.urls['trajectory']}/cases/{case_id}/trajectory", headers=WORKER_AUTH
        )
        view: dict[str, Any] | None = r.json() if r.status_code == 200 else None
        return view if view is not None and until(view) else None

    return await eventually(probe, timeout=60, what=f"trajectory of {case_id}")


async def explore_and_plan(system: System, case_id: str) -> None:
    today = datetime.now(UTC).date()
    target = (today + timedelta(weeks=8)).isoformat()
    await trajectory_view(system, case_id, lambda v: v.get("consent") is not None)
    await system.post(
        "trajectory",
        f"/cases/{case_id}/start-conversation",
        {
            "participants": [WORKER, IB, "lk-sanne"],
            "sharpened_question": "Wat heeft Noor nodig om zelfstandig te lezen?",
            "levels": ["pupil", "teacher"],
            "held_on": today.isoformat(),
        },
        auth=WORKER_AUTH,
        expect=200,
    )
    await system.post(
        "trajectory",
        f"/cases/{case_id}/plans",
        plan(today.isoformat(), target),
        auth=WORKER_AUTH,
        expect=200,
    )


async def support_and_sessions(system: System, case_id: str, sessions: int) -> None:
    today = datetime.now(UTC).date().isoformat()
    await system.post("trajectory", f"/cases/{case_id}/support/start", auth=WORKER_AUTH, expect=200)
    for _ in range(sessions):
        await system.post(
            "trajectory",
            f"/cases/{case_id}/sessions",
            {"session_id": str(uuid4()), "held_on": today, "hours": 1.5, "findings": "loopt"},
            auth=WORKER_AUTH,
            expect=200,
        )


async def mixed_scenario(system: System, cases: int = 4) -> list[str]:
    """Several cases taken to different points: withdrawn, claimed, planned, in support."""
    made: list[str] = []
    for n in range(cases):
        case_id = await submit(system, f"leerling-{uuid4().hex[:6]}")
        made.append(case_id)
        if n % 4 == 3:
            await system.post(
                "intake",
                f"/requests/{case_id}/withdrawal",
                {"reason": "Opgelost binnen de basisondersteuning."},
                auth=IB_AUTH,
                expect=200,
            )
            continue
        await give_consent(system, case_id)
        await claim(system, case_id)
        await system.post(
            "assignment",
            f"/cases/{case_id}/first-contact",
            {"contacted_at": datetime.now(UTC).isoformat()},
            auth=WORKER_AUTH,
            expect=200,
        )
        if n % 4 >= 1:
            await explore_and_plan(system, case_id)
        if n % 4 == 2:
            await support_and_sessions(system, case_id, sessions=3)
    return made
