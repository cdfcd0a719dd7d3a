"""The restore drill (issue 20): back up, erase, restore the backup, start: erased again
before the first request is answered, because the erasure is on intake's topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest

from passend_backbone.auth import Role
from passend_backbone.lifecycle import serve
from passend_backbone.texts.tokens import ERASED
from passend_backbone.topic_scan import scan_topic
from passend_contracts import topics
from passend_contracts.events.intake import PupilErased
from passend_devstack.infra import Broker, Database
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from passend_intake.erasure_ledger import reapply_erasures
from passend_intake.service import SPEC
from tests.conftest import copy_database, create_database
from tests.integration.intake.kit import NOW, SWV, Clock, body, ib, settings_for
from tests.topics import on_broker

pytestmark = pytest.mark.integration

OFFICER = auth_header(Role.PRIVACY_OFFICER, SWV, subject="fg-sanne")
ASKED = {
    "requested_by": "De moeder, per brief",
    "received_on": "2026-09-10",
    "grounds": "AVG art. 17 lid 1 sub b",
}


@asynccontextmanager
async def intake_on(url: str, broker: Broker) -> AsyncIterator[httpx.AsyncClient]:
    """Intake on database ``url`` until the block ends; the client is made once it serves."""
    settings = settings_for(url, broker)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(SPEC, settings, stop, ready=ready, clock=Clock(NOW)))

    async def started() -> bool:
        return ready.is_set() or task.done()

    await eventually(started, timeout=60, what="intake ready")
    if task.done():
        await task
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10
    ) as http:
        try:
            yield http
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_a_restored_backup_is_erased_again_before_it_serves(
    database: Database, broker: Broker
) -> None:
    url = await create_database(database, prefix="drill")
    name = unquote(urlsplit(url).path.lstrip("/"))
    backup = f"{name}_backup"
    data = body()
    pupil = data["pupil_ref"]

    async with intake_on(url, broker) as http:
        answer = await http.post(
            "/requests", json=data, headers={**ib(), "Idempotency-Key": str(uuid4())}
        )
        assert answer.status_code == 201, answer.text
        case_id = answer.json()["case_id"]
    await copy_database(database, name, backup)  # the nightly backup
    backed_up = await asyncpg.connect(url)
    try:  # intake's pseudonym of the pupil: what the events name it by (issue 20)
        pseudonym = await backed_up.fetchval(
            "SELECT pupil_ref FROM pupil_keys WHERE school_ref = $1", pupil
        )
    finally:
        await backed_up.close()

    async with intake_on(url, broker) as http:
        erased = await http.post(
            f"/privacy/pupils/{pupil}/erasure",
            json=ASKED,
            headers={**OFFICER, "Idempotency-Key": str(uuid4())},
        )
        assert erased.status_code == 200, erased.text

        async def on_topic() -> bool:
            scan = await scan_topic(
                broker.bootstrap_servers,
                on_broker(topics.INTAKE),
                lambda r: dict(r.headers or ()).get("ce_type") == PupilErased.event_type.encode(),
            )
            return any(pseudonym.encode() in (r.value or b"") for r in scan.records)

        await eventually(on_topic, timeout=30, what="PupilErased on intake's topic")

    # Disaster: the database is restored from the backup taken before the erasure.
    await copy_database(database, backup, name)
    restored = await asyncpg.connect(url)
    try:
        keys = await restored.fetchval(
            "SELECT count(*) FROM pupil_keys WHERE school_ref = $1", pupil
        )
        assert keys == 1  # the backup brought the pupil's key back
    finally:
        await restored.close()

    async with intake_on(url, broker) as http:
        # The very first request already finds the pupil erased.
        first = await http.get(f"/requests/{case_id}", headers=ib())
        assert first.status_code == 200, first.text  # the restored read model has the case
        assert first.json()["pupil"]["name"] == ERASED
        # The request's words too: their case key went with the pupil's, again.
        assert first.json()["educational_need"] == ERASED
        restored = await asyncpg.connect(url)
        try:
            assert (
                await restored.fetchval(
                    "SELECT count(*) FROM pupil_keys WHERE school_ref = $1", pupil
                )
                == 0
            )
            assert (
                await restored.fetchval(
                    "SELECT reason FROM pupil_erasures WHERE pupil_ref = $1", pseudonym
                )
                == "request"
            )
        finally:
            await restored.close()

    # The runbook's command finds nothing left to do.
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        assert await reapply_erasures(pool, broker.bootstrap_servers, on_broker(topics.INTAKE)) == 0
    finally:
        await pool.close()
    admin = await asyncpg.connect(database.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{backup}" WITH (FORCE)')
    finally:
        await admin.close()
