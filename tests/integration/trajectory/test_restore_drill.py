"""The restore drill for a service that seals texts (issue 20): back up, erase the case,
restore the backup, start: the case's key is deleted again before the first answer."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest

from passend_backbone.eventstore import PostgresEventStore
from passend_backbone.texts.tokens import ERASED
from passend_contracts.events.intake import CaseErased, ErasureReason
from passend_devstack.infra import Broker, Database
from passend_devstack.waiting import eventually
from passend_trajectory.service import build_spec
from tests.conftest import copy_database, create_database
from tests.integration.trajectory.flows import WORKER_H, conversation, publish, trajectory
from tests.integration.trajectory.kit import T0, Clock, claimed, deliver, running, settings_for

pytestmark = pytest.mark.integration

QUESTION = "Hoe komt Sem de Wit tot rust in de klas?"


async def _key_count(url: str, case_id: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM text_keys WHERE scope = $1", case_id)
        return count
    finally:
        await conn.close()


async def test_a_restored_backup_deletes_the_erased_case_key_before_it_serves(
    database: Database, broker: Broker
) -> None:
    url = await create_database(database, prefix="tdrill")
    name = unquote(urlsplit(url).path.lstrip("/"))
    backup = f"{name}_backup"
    clock = Clock()
    case_id = uuid4()

    async with running(build_spec(clock=clock), settings_for(url, broker), clock) as base:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            store = PostgresEventStore(pool, "/passend/trajectory")
            await deliver(pool, store, claimed(case_id), clock=clock)
        finally:
            await pool.close()
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            body = {**conversation(T0.date()), "sharpened_question": QUESTION}
            answer = await http.post(
                f"/cases/{case_id}/start-conversation", json=body, headers=WORKER_H
            )
            assert answer.status_code == 200, answer.text
            await trajectory(http, case_id, until=lambda v: v["start_conversation"])
    await copy_database(database, name, backup)  # the nightly backup

    erased = CaseErased(
        case_id=case_id,
        reason=ErasureReason.REQUEST,
        requested_by="de vader, per e-mail",
        erased_by="fg-sanne",
        erased_at=datetime(2026, 12, 4, 10, 5, tzinfo=UTC),
    )
    async with running(build_spec(clock=clock), settings_for(url, broker), clock):
        await publish(broker, erased)

        async def gone() -> bool:
            return await _key_count(url, str(case_id)) == 0

        await eventually(gone, timeout=60, what="the case's key deleted on CaseErased")

    # Disaster: the database is restored from the backup taken before the erasure.
    await copy_database(database, backup, name)
    assert await _key_count(url, str(case_id)) == 1  # the backup brought the key back

    async with running(build_spec(clock=clock), settings_for(url, broker), clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            # The very first answer already keeps the text closed.
            first = await http.get(f"/cases/{case_id}/trajectory", headers=WORKER_H)
            assert first.status_code == 200, first.text
            assert first.json()["start_conversation"]["sharpened_question"] == ERASED
            assert "tot rust in de klas" not in first.text
        assert await _key_count(url, str(case_id)) == 0
