"""The services' own log output of a whole case, run as processes at debug level, names no one."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from passend_backbone.auth import Role
from passend_devstack.catalog import ServiceEntry
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.processes import (
    ServiceProcess,
    start_service,
    stop_services,
    wait_ready,
)
from passend_devstack.test_tokens import auth_env
from tests.conftest import create_database
from tests.security.search import hits_in
from tests.security.stack import (
    IB,
    IDENTIFIERS,
    PARENT,
    SCHOOL,
    SWV_A,
    Service,
    Stack,
    auth_header,
    request_body,
    run_full_case,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "gateway")


@asynccontextmanager
async def processes(
    database: Database, broker: Broker, logs: Path
) -> AsyncIterator[tuple[Stack, list[ServiceProcess]]]:
    """Each service as ``python -m passend_<name>``, JSON logs at debug level to a file."""
    started: list[ServiceProcess] = []
    services: dict[str, Service] = {}
    try:
        for name in SERVICES:
            db_url = await create_database(database, prefix=f"logs_{name}")
            port = free_port()
            env = {
                **os.environ,
                **auth_env(),
                "DATABASE_URL": db_url,
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "KAFKA_BROKER_KIND": broker.kind,
                "HTTP_PORT": str(port),
                "LOG_LEVEL": "debug",
                "LOG_FORMAT": "json",
            }
            entry = ServiceEntry(name, f"passend_{name}")
            started.append(start_service(entry, port, env, logs / f"{name}.log", ROOT))
            url = f"http://127.0.0.1:{port}"
            services[name] = Service(name, url, db_url, httpx.AsyncClient(base_url=url, timeout=20))
        await asyncio.to_thread(wait_ready, started, 90.0, lambda: False)
        yield Stack(services, broker), started
    finally:
        for service in services.values():
            await service.http.aclose()
        await asyncio.to_thread(stop_services, started, 15.0)
        for process in started:
            process.close_log()


async def test_a_whole_case_leaves_no_personal_data_in_any_service_log(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    used = list(IDENTIFIERS)
    async with processes(database, broker, tmp_path) as (stack, started):
        case_id, _ = await run_full_case(stack)
        ib = auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL)
        intake = stack["intake"].http
        # The parent's personal link (on a second case of the pupil): its token is a
        # credential and must not be logged.
        second = await intake.post(
            "/requests",
            json=request_body(stack.pupil_refs[SWV_A]),
            headers={**ib, "Idempotency-Key": str(uuid4())},
        )
        assert second.status_code == 201, second.text
        asked = await intake.post(
            f"/requests/{second.json()['case_id']}/consent/requests",
            json={"method": "personal_link", "parent_refs": [PARENT], "expires_in_hours": 24},
            headers=ib,
        )
        assert asked.status_code == 201, asked.text
        token = asked.json()["links"][0]["token"]
        used.append(token)
        assert (await intake.get(f"/consent/{token}")).status_code == 200
        assert (await intake.post(f"/consent/{token}/confirm")).status_code == 201
        # Refused input echoing personal data back (a malformed e-mail address).
        bad = request_body(f"p-{uuid4().hex[:8]}")
        bad["pupil"]["parents"][0]["email"] = "not an address of Hieronymus Zwanenburg"
        refused = await intake.post(
            "/requests", json=bad, headers={**ib, "Idempotency-Key": str(uuid4())}
        )
        assert refused.status_code == 422
        # Free text about the pupil is personal data too.
        detail = (await intake.get(f"/requests/{case_id}", headers=ib)).json()
        used += [detail["educational_need"], detail["why_stuck"]]
    logs = {p.entry.name: p.log_path.read_text(errors="replace") for p in started}
    assert all(len(text.splitlines()) > 10 for text in logs.values()), "the services logged"
    assert case_id in logs["intake"]  # the logs do tell which case: ids are pseudonymous
    assert "/consent/[token]" in logs["intake"]  # the link's use was logged, redacted
    found = [hit for name, text in logs.items() for hit in hits_in(text, used, name)]
    assert found == [], "\n".join(found)
