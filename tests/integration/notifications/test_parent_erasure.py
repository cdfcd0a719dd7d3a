"""Erasing a pupil (intake's PupilErased) deletes their parents' addresses, in any event order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import ErasureReason, PupilErased, RequestSubmitted
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually

from .kit import (
    SERVICE,
    MovableClock,
    Publisher,
    fresh_topics,
    notification_settings,
    running,
    service_settings,
    smtp_server,
    spec_for,
)

pytestmark = pytest.mark.integration


def submitted(case_id: uuid.UUID, pupil_ref: str, parent: str) -> RequestSubmitted:
    example = RequestSubmitted.example or {}
    return RequestSubmitted.model_validate(
        {**example, "case_id": str(case_id), "pupil_ref": pupil_ref, "parent_refs": [parent]}
    )


def erased_event(pupil_ref: str) -> CloudEvent:
    """``PupilErased`` as intake publishes it (it names a pupil, not a case)."""
    payload = PupilErased(
        pupil_ref=pupil_ref,
        key_id=uuid.uuid4(),
        reason=ErasureReason.RETENTION,
        category="school",
        erased_by="passend-retention",
        erased_at=datetime.now(UTC),
    )
    return CloudEvent(
        id=uuid.uuid4(),
        source="/passend/intake",
        type=payload.event_type,
        subject=pupil_ref,
        time=datetime.now(UTC),
        swv="swv-rijnmond",
        correlationid="corr-erasure",
        causationid="retention",
        actor="passend-retention",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )


async def put(http: httpx.AsyncClient, recipient: str) -> int:
    answer = await http.put(
        f"/contacts/{recipient}", json={"email": f"{recipient}@home.test"}, headers=SERVICE
    )
    return answer.status_code


async def recipients(db_url: str) -> set[str]:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT recipient_id FROM contacts")
    finally:
        await conn.close()
    return {r["recipient_id"] for r in rows}


async def test_parents_contacts_go_with_the_pupil(db_url: str, broker: Broker) -> None:
    clock, topics = MovableClock(), fresh_topics()
    erased_case, other_case, late_case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            for recipient in ("par-1", f"parents:{erased_case}", "par-2", "par-3", "ib-7731"):
                assert await put(http, recipient) == 204
            link = await http.put(
                f"/cases/{erased_case}/links/par-1",
                json={"link": "https://passend.test/toestemming/abc"},
                headers=SERVICE,
            )
            assert link.status_code == 204
            await bus.send(submitted(erased_case, "pupil-gone", "par-1"))
            await bus.send(submitted(other_case, "pupil-stays", "par-2"))

            async def learnt() -> bool:
                conn = await asyncpg.connect(db_url)
                try:
                    n = await conn.fetchval(
                        "SELECT count(*) FROM case_facts WHERE pupil_ref IS NOT NULL"
                    )
                finally:
                    await conn.close()
                return bool(n == 2)

            await eventually(learnt, timeout=30, what="the pupils of both cases learnt")
            await bus.publish(erased_event("pupil-gone"), topics.intake)
            # Erased before this service heard of the pupil's case: the case comes later.
            await bus.publish(erased_event("pupil-late"), topics.intake)
            await bus.send(submitted(late_case, "pupil-late", "par-3"))

            async def only_others_left() -> bool:
                return await recipients(db_url) == {"par-2", "ib-7731"}

            await eventually(only_others_left, timeout=30, what="the parents' contacts erased")
            conn = await asyncpg.connect(db_url)
            try:
                assert await conn.fetchval("SELECT count(*) FROM personal_links") == 0
            finally:
                await conn.close()
            # An erased pupil's parent's address is not taken back in.
            assert await put(http, "par-1") == 409
            assert await put(http, "par-2") == 204
