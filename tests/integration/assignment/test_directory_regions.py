"""TNO, issue 25: Team NO regions are the SWV's configuration in its directory, kept through
the API as ``TeamNoRegionConfigured`` events; municipalities are CBS codes that exist (422
naming the list otherwise, and nothing is appended)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR, load_directory_file
from passend_assignment.domain.directory import directory_stream
from passend_assignment.service import build_spec
from passend_backbone import db
from passend_backbone.auth import Role
from passend_backbone.eventstore import EventStore, PostgresEventStore
from passend_contracts.municipalities import SOURCE
from passend_devstack.infra import Broker, Database
from passend_devstack.test_tokens import auth_header
from tests.conftest import create_database

from .kit import Clock, running, settings_for

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


class Service:
    def __init__(self, http: httpx.AsyncClient, store: EventStore) -> None:
        self.http, self.store = http, store

    async def types(self, swv: str) -> list[str]:
        records = await self.store.read_stream(directory_stream(swv))
        return [r.event_type.split(".")[-2] for r in records]


@pytest.fixture(scope="module")
async def service(database: Database, broker: Broker) -> AsyncIterator[Service]:
    db_url = await create_database(database)
    clock = Clock(NOW)
    pool: asyncpg.Pool = await db.create_pool(db_url)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.delenv(ENV_VAR, raising=False)
            async with (
                running(build_spec(clock=clock), settings_for(db_url, broker), clock) as base,
                httpx.AsyncClient(base_url=base, timeout=30) as http,
            ):
                yield Service(http, PostgresEventStore(pool, "/passend/assignment"))
    finally:
        await pool.close()


def dev_doc(swv: str, **changes: Any) -> dict[str, Any]:
    doc = load_directory_file(DEV_FILE)[0].model_copy(update={"swv_id": swv})
    return {**doc.model_dump(mode="json"), **changes}


async def test_tno_regions_are_configured_through_the_directory_and_read_back(
    service: Service,
) -> None:
    swv = f"swv-{uuid4().hex[:8]}"
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    put = await service.http.put("/directory", headers=admin, json=dev_doc(swv))
    assert put.status_code == 200, put.text
    assert "nl.passend.assignment.TeamNoRegionConfigured.v1" in put.json()["events"]
    ib = auth_header(Role.IB, swv, subject="ib-marieke", school_id="brin-11aa")
    [region] = (await service.http.get("/directory", headers=ib)).json()["team_no_regions"]
    assert region["region"] == "waterweg"
    assert region["municipality_names"] == {
        "GM0556": "Maassluis",
        "GM0606": "Schiedam",
        "GM0622": "Vlaardingen",
    }
    assert region["members"] == ["tno-ruud", "tno-waterweg"]
    # Rotterdam joins the region: one event, the region as it is now.
    wider = dev_doc(swv)
    wider["team_no_regions"][0]["municipalities"].append("GM0599")
    put = await service.http.put("/directory", headers=admin, json=wider)
    assert put.json()["events"] == ["nl.passend.assignment.TeamNoRegionConfigured.v1"]


@pytest.mark.parametrize(
    ("where", "code"),
    [("region", "Vlaardingen"), ("region", "GM9999"), ("school", "GM0614")],
)
async def test_tno_a_municipality_not_in_the_cbs_list_is_refused_and_nothing_appended(
    service: Service, where: str, code: str
) -> None:
    swv = f"swv-{uuid4().hex[:8]}"
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    doc = dev_doc(swv)
    if where == "region":
        doc["team_no_regions"][0]["municipalities"] = [code]
    else:
        doc["schools"][0]["municipality"] = code
    put = await service.http.put("/directory", headers=admin, json=doc)
    assert put.status_code == 422, put.text
    assert SOURCE in put.json()["detail"]
    assert await service.types(swv) == []
