"""Free texts about a pupil are sealed at rest and opened only in answers, until erasure.

Issue 20: the store, the read models and the service's topic hold ``sealed:v1:`` tokens;
the API opens them for its reader; intake's ``CaseErased`` deletes the case's key, after
which no copy opens (the answer says ``[gewist]``) and the hash chains still verify.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest

from passend_contracts.events.intake import CaseErased, ErasureReason
from passend_devstack.test_tokens import auth_header
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import conversation, plan, post, trajectory
from tests.integration.trajectory.kit import SWV, claimed, deliver

pytestmark = pytest.mark.integration

QUESTION = "Hoe komt Tim Jansen zelfstandig tot werken?"
# What the store must not hold: a whole phrase (a short name could occur by chance in the
# base64 of a token).
MARK = "Jansen zelfstandig"
GOAL = "Tim begint alleen aan zijn rekentaak"


async def _case_with_texts(service: Service) -> UUID:
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    today = service.clock().date()
    started = {**conversation(today), "sharpened_question": QUESTION}
    await post(service.http, case_id, "start-conversation", started)
    body = plan(today)
    body["goals"][0]["description"] = GOAL
    await post(service.http, case_id, "plans", body)
    return case_id


async def _every_row_as_text(pool: asyncpg.Pool) -> str:
    """Every row of every table of the service's database, as text (a dump by SQL)."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        parts = []
        for t in tables:
            rows = await conn.fetch(f'SELECT t::text AS r FROM "{t[0]}"."{t[1]}" t')
            parts += [r["r"] for r in rows]
    return "\n".join(parts)


async def test_texts_are_sealed_in_the_store_and_the_read_models_and_open_in_answers(
    service: Service,
) -> None:
    case_id = await _case_with_texts(service)
    view = await trajectory(service.http, case_id, until=lambda v: v.get("plans"))
    assert QUESTION in str(view) and GOAL in str(view)

    stored = await service.pool.fetch(
        "SELECT data::text AS d FROM events WHERE stream_id = $1", str(case_id)
    )
    assert stored and all(MARK not in r["d"] and "rekentaak" not in r["d"] for r in stored)
    assert any("sealed:v1:" in r["d"] for r in stored)
    everything = await _every_row_as_text(service.pool)
    assert MARK not in everything and "rekentaak" not in everything
    assert "sealed:v1:" in everything


async def test_after_the_case_is_erased_no_copy_opens_and_the_chains_still_verify(
    service: Service,
) -> None:
    case_id = await _case_with_texts(service)
    await trajectory(service.http, case_id, until=lambda v: v.get("plans"))
    keys_before = await service.pool.fetchval(
        "SELECT count(*) FROM text_keys WHERE swv = $1 AND scope = $2", SWV, str(case_id)
    )
    assert keys_before == 1

    erased = CaseErased(
        case_id=case_id,
        reason=ErasureReason.REQUEST,
        requested_by="de moeder, per brief",
        erased_by="fg-sanne",
        erased_at=datetime(2026, 12, 4, 10, 5, tzinfo=UTC),
    )
    await deliver(service.pool, service.store, erased, clock=service.clock)
    left = "SELECT count(*) FROM text_keys WHERE scope = $1"
    assert await service.pool.fetchval(left, str(case_id)) == 0

    view = await trajectory(service.http, case_id)
    assert MARK not in str(view) and "rekentaak" not in str(view)
    assert "[gewist]" in str(view)
    # Another case keeps its texts: the key was the erased case's alone.
    other = await _case_with_texts(service)
    assert QUESTION in str(await trajectory(service.http, other, until=lambda v: v.get("plans")))

    auditor = auth_header("auditor", SWV, subject="au-piet")
    answer = await service.http.get("/audit/verify", headers=auditor)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True
