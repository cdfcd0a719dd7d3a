"""Erasing the pupil leaves no parent's address, name or link readable: tables, topics, logs.

Intake and notifications run together; the parent's address comes with the request, the
consent e-mail and the confirmation e-mail (with the withdrawal link) are delivered, the
parent answers through the link. Then the pupil is erased (intake deletes the pupil's key
and publishes ``PupilErased``). Afterwards every row of both services' databases, every
record of every topic and everything the services logged are searched for the parent's
address and name, the child's name and both link tokens: none is found. Intake answers
for the parent no more (410), shows no link to hand over, and the links no longer work.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from passend_contracts.events.assignment import SchoolRegistered
from passend_devstack.infra import Broker, Database
from passend_devstack.waiting import eventually
from passend_intake.erasure import erase_pupil
from tests.integration.intake.kit import SWV, ib, publish
from tests.security.search import hits_in, replay, table_hits
from tests.security.test_erasure import encrypted_key_ids
from tests.topics import on_broker

from .test_parent_recipients import (
    LINK_BASE,
    ask_by_link,
    intake_and_notifications,
    request_for,
    submit,
)

pytestmark = pytest.mark.integration

ADDRESS = "wilhelmina.zonneveld@thuis.test"
PARENT_NAME = "Wilhelmina Zonneveld"
CHILD = "Quirijn"
TOKEN = re.compile(re.escape(LINK_BASE) + r"/([A-Za-z0-9_-]{20,100})")


async def rows_of_every_table(pool: asyncpg.Pool, needles: list[str], where: str) -> list[str]:
    """Every row of every table of the database behind ``pool``, as JSON text, searched."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
        found = []
        for table in tables:
            rows = await conn.fetch(f"SELECT to_jsonb(t)::text AS row FROM {table['t']} t")
            for row in rows:
                found += hits_in(row["row"], needles, f"{where} {table['t']}")
    return found


async def test_after_erasure_no_parents_address_or_link_is_readable_anywhere(
    database: Database,
    broker: Broker,
    db_url: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with intake_and_notifications(database, broker, db_url, tmp_path) as both:
        intake, smtp = both.intake, both.smtp
        await publish(
            broker,
            SWV,
            SchoolRegistered(
                swv_id=SWV,
                school_id="brin-z",
                name="De Zonnewijzer",
                municipality="GM0622",
                registered_at=datetime.now(UTC),
            ),
        )
        body = request_for("brin-z", CHILD, ADDRESS)
        body["pupil"]["parents"][0]["name"] = PARENT_NAME
        case_id = await submit(intake, "brin-z", body)
        await ask_by_link(intake, case_id, "brin-z")

        async def mail(subject: str) -> str:
            async def arrived() -> str | None:
                found = [m for m in smtp.sink.to(ADDRESS) if m["Subject"].startswith(subject)]
                return found[0].get_content() if found else None

            return await eventually(arrived, timeout=90, what=f"{subject!r} to the parent")

        asked = await mail("Uw toestemming gevraagd")
        consent_match = TOKEN.search(asked)
        assert consent_match, asked
        consent_token = consent_match.group(1)
        confirmed = await intake.http.post(f"/consent/{consent_token}/confirm")
        assert confirmed.status_code == 201, confirmed.text
        given = await mail("Bevestiging")
        withdrawal_match = TOKEN.search(given)
        assert withdrawal_match, given
        withdrawal_token = withdrawal_match.group(1)
        secrets = [ADDRESS, PARENT_NAME, f"{CHILD} Jansen", consent_token, withdrawal_token]
        # Before the erasure the parent's link can be shown to the IB.
        links = await intake.http.get(
            f"/requests/{case_id}/consent/links", headers=ib(school="brin-z", subject="ib-brin-z")
        )
        assert [link["token"] for link in links.json()["links"]] == [withdrawal_token]

        assert await erase_pupil(
            intake.pool,
            SWV,
            body["pupil_ref"],
            erased_by="dpo-1",
            now=datetime.now(UTC),
            store=intake.store,
        )

        # Intake tells nobody about the parent any more, and no link works.
        service = {"Authorization": f"Bearer {(tmp_path / f'{SWV}.jwt').read_text()}"}
        parent = await intake.http.get(
            f"/internal/cases/{case_id}/parents/ouder-1", headers=service
        )
        assert parent.status_code == 410
        links = await intake.http.get(
            f"/requests/{case_id}/consent/links", headers=ib(school="brin-z", subject="ib-brin-z")
        )
        assert links.json()["links"] == []
        page = await intake.http.get(f"/consent/{withdrawal_token}")
        assert page.json()["state"] != "open" and page.json()["child_first_name"] is None
        withdrawn = await intake.http.post(f"/consent/{withdrawal_token}/withdraw")
        assert withdrawn.status_code == 410

        async def notifications_heard() -> bool:
            async with asyncpg.create_pool(db_url, min_size=1, max_size=1) as pool:
                erased = await pool.fetchval("SELECT count(*) FROM erased_pupils")
            return bool(erased)

        await eventually(notifications_heard, timeout=60, what="notifications heard of it")

        found = await rows_of_every_table(intake.pool, secrets, "intake")
        found += await table_hits(db_url, secrets)
        records = await replay(broker, on_broker("passend."))
        assert any(case_id in r.text() for r in records), "the case's events were on the topics"
        sealed: set[str] = set()
        for r in records:
            found += hits_in(r.text(), secrets, f"{r.topic}@{r.offset}")
            if r.value and case_id in r.text():
                with contextlib.suppress(ValueError):
                    sealed |= encrypted_key_ids(json.loads(r.value))
        assert found == [], "\n".join(found)
        # The parents travelled sealed with the pupil's key, and that key is gone.
        assert sealed, "the request's identity was on intake's topic, encrypted"
        left = await intake.pool.fetchval(
            "SELECT count(*) FROM pupil_keys WHERE key_id = ANY($1::uuid[])", list(sealed)
        )
        assert left == 0
    # Everything both services logged while this ran (they ran in this process).
    out, err = capfd.readouterr()
    assert "delivered" in out + err, "the services' log lines were captured"
    assert hits_in(out + err, secrets, "log") == []
