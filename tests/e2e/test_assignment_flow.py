"""From an IB's submission in intake to the claim showing up in trajectory and notifications."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from tests.conftest import create_database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "trajectory", "notifications")
SWV = "swv-waterweg"
SCHOOL = "brin-11aa"


@contextmanager
def processes(env_of: dict[str, dict[str, str]], logs: Path) -> Iterator[dict[str, str]]:
    """Each service as ``python -m passend_<name>``; SIGTERM at the end, kill if it lingers."""
    running: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    try:
        for name, env in env_of.items():
            out = (logs / f"{name}.log").open("wb")
            running[name] = subprocess.Popen(
                [sys.executable, "-m", f"passend_{name}"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            urls[name] = f"http://127.0.0.1:{env['HTTP_PORT']}"
        yield urls
    finally:
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _ready(http: httpx.AsyncClient, urls: dict[str, str], logs: Path) -> None:
    async def all_ready() -> bool:
        for url in urls.values():
            try:
                if (await http.get(f"{url}/health/ready")).status_code != 200:
                    return False
            except httpx.TransportError:
                return False
        return True

    try:
        await eventually(all_ready, timeout=90, interval=0.2, what="all four services ready")
    except AssertionError:
        tails = {p.name: p.read_text()[-2000:] for p in logs.glob("*.log")}
        raise AssertionError(f"services not ready; logs: {tails}") from None


def _submission() -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": "ow-anouk",
        "pupil_ref": "leerling-042",
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [
                {"parent_ref": "ouder-1", "name": "M. Visser", "email": "m.visser@example.nl"}
            ],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en de spelling blijft achter bij de groep.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een leesmaatje.",
        "why_stuck": "Geen groei op de toetsen; de leerkracht weet niet wat nog helpt.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


async def test_submission_reaches_the_inbox_and_the_claim_reaches_trajectory_and_notifications(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    env_of = {}
    for name in SERVICES:
        env_of[name] = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "console",
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    ib = auth_header(Role.IB, SWV, subject="ib-marieke", school_id=SCHOOL)
    anouk = auth_header(Role.SUPPORT_WORKER, SWV, subject="ow-anouk", work_unit_id="wu-vlaardingen")
    auditor = auth_header(Role.AUDITOR, SWV, subject="audit-1")

    with processes(env_of, tmp_path) as urls:
        async with httpx.AsyncClient(timeout=10) as http:
            await _ready(http, urls, tmp_path)
            submitted = await http.post(
                f"{urls['intake']}/requests",
                headers={**ib, "Idempotency-Key": "e2e-assignment-1"},
                json=_submission(),
            )
            assert submitted.status_code == 201, submitted.text
            case_id = submitted.json()["case_id"]

            async def in_inbox() -> bool:
                r = await http.get(f"{urls['assignment']}/workers/ow-anouk/inbox", headers=anouk)
                return any(c["case_id"] == case_id for c in r.json())

            await eventually(in_inbox, timeout=60, what="request in the worker's inbox")

            claims = await asyncio.gather(
                http.post(f"{urls['assignment']}/cases/{case_id}/claim", headers=anouk),
                http.post(f"{urls['assignment']}/cases/{case_id}/claim", headers=anouk),
            )
            assert sorted(c.status_code for c in claims) == [200, 409]

            async def trajectory_opened() -> dict[str, Any] | None:
                r = await http.get(
                    f"{urls['trajectory']}/cases/{case_id}/trajectory", headers=anouk
                )
                return r.json() if r.status_code == 200 else None

            trajectory = await eventually(trajectory_opened, timeout=60, what="trajectory")
            assert trajectory["opened"]["worker_id"] == "ow-anouk"

            async def ib_told() -> list[Any]:
                r = await http.get(
                    f"{urls['notifications']}/cases/{case_id}/notifications", headers=auditor
                )
                if r.status_code != 200:
                    return []
                return [
                    m
                    for m in r.json()["messages"]
                    if m["recipient_id"] == "ib-marieke" and m["recipient_role"] == "ib"
                ]

            told = await eventually(ib_told, timeout=60, what="IB notified of the claim")
            # The claim (W26: the IB is to be contacted) is what the IB is told about.
            assert "zaak_geclaimd" in {m["template"] for m in told}
