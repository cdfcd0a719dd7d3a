"""Erasing a pupil (intake's PupilErased): nothing of the parents is kept, none is told more.

Nothing to delete here: no parent's address, name or link is ever stored in this service
(intake is asked at delivery). A message queued for a parent of an erased pupil is
cancelled when intake answers that the pupil is gone, a new one is not planned whichever
order the topics deliver in, and no contact entry can stand for a parent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import (
    ConsentMethod,
    ConsentRequested,
    ErasureReason,
    PupilErased,
    RequestSubmitted,
)
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually

from .kit import (
    SERVICE,
    FakeParents,
    MovableClock,
    Publisher,
    fresh_topics,
    notification_settings,
    running,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
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


def asked(case_id: uuid.UUID, parent: str) -> ConsentRequested:
    return ConsentRequested(
        case_id=case_id,
        requested_by="ib-7731",
        requested_at=datetime.now(UTC),
        parent_refs=[parent],
        method=ConsentMethod.PERSONAL_LINK,
    )


async def stored_text(db_url: str) -> str:
    """Every row of every table of this service's database, as text."""
    conn = await asyncpg.connect(db_url)
    try:
        tables = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        texts = []
        for t in tables:
            rows = await conn.fetch(f'SELECT t::text AS r FROM "{t[0]}"."{t[1]}" t')
            texts += [r["r"] for r in rows]
    finally:
        await conn.close()
    return "\n".join(texts)


async def test_an_erased_pupils_parents_are_told_nothing_and_kept_nowhere(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    erased_case, late_case = uuid.uuid4(), uuid.uuid4()
    parents = FakeParents()
    parents.add(erased_case, "par-1", "par-1@home.test")
    parents.add(late_case, "par-3", "par-3@home.test")
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock, parents=parents)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            # No contact entry can stand for a parent (nor a parents' placeholder).
            for recipient in ("par-1", f"parents:{erased_case}", "ouder-1"):
                assert await put(http, recipient) == 422
            assert await put(http, "team_no:waterweg") == 204

            await bus.send(submitted(erased_case, "pupil-gone", "par-1"))
            # Intake erased the pupil before the message was delivered: intake says so
            # (410), the message is cancelled and nothing is sent.
            parents.erased.add(erased_case)
            parents.link(erased_case, "par-1", uuid.uuid4(), "never-used")
            await bus.send(asked(erased_case, "par-1"))
            [cancelled] = await wait_for_status(http, erased_case, "cancelled")
            assert cancelled["reason_code"] == "erased"

            # Erased before this service heard of the pupil's case: the case comes later,
            # and its parents are not even scheduled.
            await bus.publish(erased_event("pupil-late"), topics.intake)
            await bus.send(submitted(late_case, "pupil-late", "par-3"))

            async def learnt() -> bool:
                conn = await asyncpg.connect(db_url)
                try:
                    n = await conn.fetchval(
                        "SELECT count(*) FROM case_facts WHERE case_id = $1 "
                        "AND pupil_ref IS NOT NULL",
                        late_case,
                    )
                finally:
                    await conn.close()
                return bool(n == 1)

            await eventually(learnt, timeout=30, what="the late case's pupil learnt")
            request = await bus.send(asked(late_case, "par-3"))

            async def handled() -> bool:
                conn = await asyncpg.connect(db_url)
                try:
                    found = await conn.fetchval(
                        "SELECT true FROM reactor_handled WHERE event_id = $1", request.id
                    )
                finally:
                    await conn.close()
                return bool(found)

            await eventually(handled, timeout=30, what="the late case's consent request handled")
            conn = await asyncpg.connect(db_url)
            try:
                queued = await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE case_id = $1", late_case
                )
            finally:
                await conn.close()
            assert queued == 0, "no message planned for an erased pupil's parents"
            assert smtp.sink.messages == []
            text = await stored_text(db_url)
            for secret in ("par-1@home.test", "par-3@home.test", "J. de Vries", "never-used"):
                assert secret not in text
