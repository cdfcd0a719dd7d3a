"""An erased pupil is in no table, topic, rebuilt read model, report or log; chains verify."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from passend_backbone import db
from passend_backbone.auth import Role
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.rebuild import rebuild
from passend_backbone.eventstore import PostgresEventStore
from passend_backbone.eventstore.store import verify
from passend_backbone.texts.tokens import ERASED
from passend_devstack.infra import Broker, Database
from passend_devstack.waiting import eventually
from passend_intake.projections import RequestsProjection
from passend_intake.retention import RetentionPolicy, erase_expired
from passend_portal import dossier
from passend_portal.clients import Services
from passend_portal.names import DirectoryNames
from tests.security.search import hits_in, replay, table_hits
from tests.security.stack import (
    IB,
    IDENTIFIERS,
    PUPIL_NAME,
    SCHOOL,
    SWV_A,
    Stack,
    auth_header,
    run_full_case,
    running_stack,
)
from tests.topics import on_broker

pytestmark = pytest.mark.integration

SERVICES = ["intake", "assignment", "gateway"]


async def dossier_of(stack: Stack, person: dict[str, str], case_id: str) -> None:
    """The portal's dossier of the case, read from the running services as ``person``."""
    token = person["Authorization"].removeprefix("Bearer ")
    urls = {name: stack[name].url for name in ("intake", "assignment")}
    async with httpx.AsyncClient(timeout=20) as http:
        services = Services(urls, http)
        session = dossier.session_of_token(token)
        await dossier.make(services, DirectoryNames(services), session, case_id)


async def closed_in_read_model(pool: asyncpg.Pool, case_id: str) -> datetime:
    async def probe() -> datetime | None:
        async with read_model(pool, RequestsProjection.name) as conn:
            value: datetime | None = await conn.fetchval(
                "SELECT closed_at FROM case_progress WHERE case_id = $1::uuid", case_id
            )
        return value

    return await eventually(probe, timeout=60, what="intake learnt the case closed")


async def reports(stack: Stack, case_id: str) -> dict[str, str]:
    """What an auditor is shown of the case: intake's history, assignment's case."""
    auditor = auth_header(Role.AUDITOR, SWV_A, subject="aud-1")
    out = {}
    for service, path in (
        ("intake", f"/requests/{case_id}"),
        ("intake", f"/requests/{case_id}/consent"),
        ("assignment", f"/cases/{case_id}"),
    ):
        answer = await stack[service].http.get(path, headers=auditor)
        assert answer.status_code == 200, answer.text
        out[f"{service} {path}"] = answer.text
    return out


def encrypted_key_ids(value: Any) -> set[str]:
    """The key ids of every encrypted identity anywhere in a JSON value."""
    found: set[str] = set()
    if isinstance(value, dict):
        if {"ciphertext", "nonce", "key_id"} <= value.keys():
            found.add(str(value["key_id"]))
        for inner in value.values():
            found |= encrypted_key_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= encrypted_key_ids(inner)
    return found


async def test_an_erased_pupil_is_nowhere_and_the_chains_still_verify(
    database: Database, broker: Broker, capfd: pytest.CaptureFixture[str]
) -> None:
    async with running_stack(database, broker, SERVICES, lambda: datetime.now(UTC)) as stack:
        pool = await db.create_pool(stack["intake"].db_url)
        store = PostgresEventStore(pool, "/passend/intake")
        try:
            case_id, pupil_ref = await run_full_case(stack)
            ib = auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL)
            before = await stack["intake"].http.get(f"/requests/{case_id}", headers=ib)
            assert before.json()["pupil"]["name"] == PUPIL_NAME  # it was there, encrypted
            closed_at = await closed_in_read_model(pool, case_id)

            # The retention job: nothing before two years after closure, then the pupil.
            policy = RetentionPolicy()
            assert await erase_expired(pool, store, policy, closed_at + timedelta(days=729)) == []
            later = closed_at + timedelta(days=731)
            erased = await erase_expired(pool, store, policy, later)
            assert [(e.swv, e.pupil_ref) for e in erased] == [(SWV_A, pupil_ref)]
            record = await pool.fetchrow(
                "SELECT reason, category FROM pupil_erasures WHERE pupil_ref = $1", pupil_ref
            )
            assert dict(record) == {"reason": "retention", "category": "school"}
            assert await erase_expired(pool, store, policy, later) == []  # once

            # Rebuild intake's read model from offset zero: still erased.
            report = await rebuild(
                service="intake",
                projection=RequestsProjection(),
                pool=pool,
                bootstrap=broker.bootstrap_servers,
                kind=broker.kind,  # type: ignore[arg-type]
                topic_prefix=on_broker(""),
            )
            assert report.new_generation > report.old_generation
            after = await stack["intake"].http.get(f"/requests/{case_id}", headers=ib)
            assert after.json()["pupil"] == {
                "erased": True,
                "name": ERASED,
                "date_of_birth": None,
                "parents": [],
            }
            # Issue 21: no dossier of the case any more, and the answer says why.
            with pytest.raises(dossier.DossierRefused) as refused:
                await dossier_of(stack, ib, case_id)
            assert refused.value.status == 410
            assert "de gegevens van de leerling zijn gewist" in refused.value.message

            found: list[str] = []
            # Issue 20: the school's own reference of the pupil goes with the identity.
            gone = (*IDENTIFIERS, stack.pupil_refs[SWV_A])
            # Every table of every service's database.
            for service in stack.services.values():
                found += await table_hits(service.db_url, gone)
            # Every record of every topic, replayed from the start; no identity there
            # can be opened any more.
            records = await replay(broker, on_broker("passend."))
            assert any(r.text().find(case_id) >= 0 for r in records)
            sealed: set[str] = set()
            for r in records:
                found += hits_in(r.text(), gone, f"{r.topic}@{r.offset}")
                if r.value and case_id in r.text():
                    with contextlib.suppress(ValueError):
                        sealed |= encrypted_key_ids(json.loads(r.value))
            assert sealed, "the case's identity travelled encrypted"
            left = await pool.fetchval(
                "SELECT count(*) FROM pupil_keys WHERE key_id = ANY($1::uuid[])", list(sealed)
            )
            assert left == 0
            # What an auditor is shown.
            for name, text in (await reports(stack, case_id)).items():
                found += hits_in(text, gone, name)
            assert found == [], "\n".join(found)

            # The log stays append-only and verifiable in every service.
            for service in stack.services.values():
                service_pool = await db.create_pool(service.db_url)
                try:
                    assert (await verify(service_pool)).ok, service.name
                finally:
                    await service_pool.close()
        finally:
            await pool.close()
    # Everything the services logged while this ran (in this process).
    out, err = capfd.readouterr()
    assert hits_in(out + err, IDENTIFIERS, "log") == []
