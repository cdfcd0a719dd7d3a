"""The read log records a person's read of a case (who, when, why, which view), not a service's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import Depends, FastAPI

from passend_backbone.audit import reads_of, record_case_read
from passend_backbone.auth import Role, install_verifier
from passend_backbone.auth.keys import KeySet
from passend_backbone.auth.tokens import TokenVerifier
from passend_devstack.test_tokens import AUDIENCE, ISSUER, auth_header, issuer_key

pytestmark = pytest.mark.integration

SWV = "swv-waterweg"
CASE = "7f0c8a52-1d7e-4b8e-9a51-3c2d4e5f6a7b"


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """A service's ordinary case endpoint with the read-log dependency added."""
    app = FastAPI()
    install_verifier(
        app.state,
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=KeySet(str(issuer_key().jwks_path))),
    )

    @app.get(
        "/requests/{case_id}", dependencies=[Depends(record_case_read(pool, "intake.request"))]
    )
    async def show(case_id: str) -> dict[str, str]:
        return {"case_id": case_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        yield http


async def test_a_persons_read_is_logged_with_who_when_and_why(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    ib = auth_header(Role.IB, SWV, subject="ib-marieke", school_id="brin-11aa")
    r = await client.get(f"/requests/{CASE}", headers={**ib, "X-Purpose": "voorbereiding MDO"})
    assert r.status_code == 200
    r = await client.get(f"/requests/{CASE}", headers=ib)
    assert r.status_code == 200
    reads = await reads_of(pool, SWV, CASE)
    assert [(x.reader, x.reader_role, x.view) for x in reads] == [
        ("ib-marieke", "ib", "intake.request"),
        ("ib-marieke", "ib", "intake.request"),
    ]
    assert [x.purpose for x in reads] == ["voorbereiding MDO", "uitvoering taak"]
    assert reads[0].read_at <= reads[1].read_at
    assert await reads_of(pool, "swv-elders", CASE) == []


async def test_a_services_read_is_not_logged(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    service = auth_header(Role.SERVICE, SWV, subject="service:notifications")
    r = await client.get(f"/requests/{CASE}", headers=service)
    assert r.status_code == 200
    assert await reads_of(pool, SWV, CASE) == []


async def test_the_read_log_refuses_changes(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    teacher = auth_header(Role.TEACHER, SWV, subject="lk-sanne", school_id="brin-11aa")
    assert (await client.get(f"/requests/{CASE}", headers=teacher)).status_code == 200
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("UPDATE case_reads SET purpose = 'iets anders'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("DELETE FROM case_reads")
