"""Every state-changing endpoint with an ``Idempotency-Key``: a retry acts once and answers alike.

For each command (claim, offer, first contact, route coach, and ``PUT /directory``): the
same key and body give one event and the same answer, also when the retries race and
after the case moved on; the same key with another body or for another case is refused
with 422 and writes nothing; without a key a command acts as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from passend_devstack.infra import Broker, Database
from passend_devstack.test_tokens import auth_header
from tests.conftest import create_database

from .kit import SWV, Clock, route, running, settings_for, submission

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 1, 9, tzinfo=UTC)
ANOUK = auth_header(Role.SUPPORT_WORKER, SWV, subject="ow-anouk", work_unit_id="wu-vlaardingen")
IB = auth_header(Role.IB, SWV, subject="ib-marieke", school_id="brin-11aa")
RETRIES = 4


@dataclass
class Service:
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    store: EventStore

    async def routed(self) -> str:
        """A new case routed to ow-anouk, as the routing reactor does it."""
        request = submission(at=SUBMITTED)
        await route(self.pool, self.store, request, SUBMITTED)
        return str(request.case_id)

    async def claimed(self) -> str:
        case_id = await self.routed()
        claim = await self.http.post(f"/cases/{case_id}/claim", headers=ANOUK)
        assert claim.status_code == 200, claim.text
        return case_id

    async def types(self, stream: str) -> list[str]:
        return [r.event_type for r in await self.store.read_stream(stream)]


@pytest.fixture(scope="module")
async def service(database: Database, broker: Broker) -> AsyncIterator[Service]:
    """One running service for the module, with the dev directory put in place through
    the API and the clock an hour after the submissions."""
    db_url = await create_database(database)
    clock = Clock(SUBMITTED + timedelta(hours=1))
    pool = await db.create_pool(db_url)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.delenv(ENV_VAR, raising=False)
            async with (
                running(build_spec(clock=clock), settings_for(db_url, broker), clock) as base,
                httpx.AsyncClient(base_url=base, timeout=30) as http,
            ):
                operator = auth_header(Role.OPERATOR, SWV, subject="op-1")
                doc = load_directory_file(DEV_FILE)[0].model_dump(mode="json")
                configured = await http.put("/directory", headers=operator, json=doc)
                assert configured.status_code == 200, configured.text
                yield Service(http, pool, PostgresEventStore(pool, "/passend/assignment"))
    finally:
        await pool.close()


@dataclass(frozen=True)
class Command:
    """One endpoint: how to get a case ready for it, who calls it, two different bodies."""

    what: str
    event: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    other: dict[str, Any] | None  # None: the same key on another case instead
    ready: Callable[[Service], Awaitable[str]]


def _routed(svc: Service) -> Awaitable[str]:
    return svc.routed()


def _claimed(svc: Service) -> Awaitable[str]:
    return svc.claimed()


def _at(minutes: int) -> str:
    return (SUBMITTED + timedelta(minutes=minutes)).isoformat()


COMMANDS = [
    Command("claim", "CaseClaimed", ANOUK, None, None, _routed),
    Command(
        "offer",
        "CaseOfferedToWorkUnit",
        ANOUK,
        {"need_areas": ["behaviour"]},
        {"need_areas": ["maths"]},
        _routed,
    ),
    Command(
        "first-contact",
        "FirstContactRecorded",
        ANOUK,
        {"contacted_at": _at(10)},
        {"contacted_at": _at(20)},
        _claimed,
    ),
    Command(
        "route-coach",
        "RouteCoachCalledIn",
        ANOUK,  # the support side: the worker who received the case
        {"reason": "Geen overeenstemming over de aanpak"},
        {"reason": "De school en de ondersteuner spreken elkaar tegen"},
        _routed,
    ),
]


def _type(name: str) -> str:
    return f"nl.passend.assignment.{name}.v1"


@pytest.mark.parametrize("command", COMMANDS, ids=[c.what for c in COMMANDS])
async def test_retries_with_one_key_act_once_and_answer_as_the_first_time(
    service: Service, command: Command
) -> None:
    case_id = await command.ready(service)
    path = f"/cases/{case_id}/{command.what}"
    headers = {**command.headers, "Idempotency-Key": f"key-{uuid4()}"}
    before = await service.types(case_id)

    answers = await asyncio.gather(
        *(service.http.post(path, headers=headers, json=command.body) for _ in range(RETRIES))
    )
    assert [a.status_code for a in answers] == [200] * RETRIES, [a.text for a in answers]
    first = answers[0].json()
    assert all(a.json() == first for a in answers)
    assert first["events"] == [_type(command.event)]
    after = await service.types(case_id)
    assert after == [*before, _type(command.event)]

    # The case moves on (the route coach is called in without a key: it acts as always).
    moved = await service.http.post(
        f"/cases/{case_id}/route-coach", headers=IB, json={"reason": "Opnieuw vastgelopen"}
    )
    assert moved.status_code == 200, moved.text
    retried = await service.http.post(path, headers=headers, json=command.body)
    assert retried.status_code == 200
    assert retried.json() == first
    assert await service.types(case_id) == [*after, _type("RouteCoachCalledIn")]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.what for c in COMMANDS])
async def test_the_same_key_with_another_body_or_case_is_refused_and_writes_nothing(
    service: Service, command: Command
) -> None:
    case_id = await command.ready(service)
    headers = {**command.headers, "Idempotency-Key": f"key-{uuid4()}"}
    first = await service.http.post(
        f"/cases/{case_id}/{command.what}", headers=headers, json=command.body
    )
    assert first.status_code == 200, first.text
    # Another body for the same case, or (a claim has no body) the same claim elsewhere.
    target = case_id if command.other is not None else await command.ready(service)
    before = await service.types(target)
    reused = await service.http.post(
        f"/cases/{target}/{command.what}", headers=headers, json=command.other
    )
    assert reused.status_code == 422, reused.text
    assert reused.json()["rule"] == "idempotency"
    assert await service.types(target) == before
    # The key is bound to its endpoint: on another endpoint of the case it is refused too.
    other_what, other_body = (
        ("route-coach", {"reason": "Een andere vraag"})
        if command.what != "route-coach"
        else ("offer", {"need_areas": ["maths"]})
    )
    before = await service.types(case_id)
    elsewhere = await service.http.post(
        f"/cases/{case_id}/{other_what}", headers=headers, json=other_body
    )
    assert elsewhere.status_code == 422, elsewhere.text
    assert await service.types(case_id) == before


async def test_directory_document_with_one_key_is_applied_once(service: Service) -> None:
    swv = "swv-idempotent"
    operator = {**auth_header(Role.OPERATOR, swv, subject="op-2"), "Idempotency-Key": "dir-1"}
    doc = load_directory_file(DEV_FILE)[0].model_copy(update={"swv_id": swv})
    body = doc.model_dump(mode="json")
    answers = await asyncio.gather(
        *(service.http.put("/directory", headers=operator, json=body) for _ in range(RETRIES))
    )
    assert [a.status_code for a in answers] == [200] * RETRIES, [a.text for a in answers]
    first = answers[0].json()
    assert all(a.json() == first for a in answers)
    # settings .. workers, people, the Team NO region
    assert len(first["events"]) == 1 + 2 + 6 + 1 + 6 + 18 + 1
    stream = directory_stream(swv)
    version = len(await service.types(stream))
    assert version == len(first["events"])

    # Later the same key and document answer as the first time, though nothing would change.
    again = await service.http.put("/directory", headers=operator, json=body)
    assert again.json() == first
    # Without a key, the same document appends nothing, as always.
    plain = {k: v for k, v in operator.items() if k != "Idempotency-Key"}
    unchanged = await service.http.put("/directory", headers=plain, json=body)
    assert unchanged.json() == {"events": []}

    # Another document under the same key: 422, nothing written.
    other = {**body, "calendar": {"good_friday": "working"}}
    reused = await service.http.put("/directory", headers=operator, json=other)
    assert reused.status_code == 422, reused.text
    assert reused.json()["rule"] == "idempotency"
    assert len(await service.types(stream)) == version
    # With a new key it is applied: one SwvConfigured with the SWV's calendar policy.
    changed = await service.http.put(
        "/directory", headers={**operator, "Idempotency-Key": "dir-2"}, json=other
    )
    assert changed.json() == {"events": [_type("SwvConfigured")]}
    got = (await service.http.get("/directory", headers=plain)).json()
    assert got["calendar"] == {
        "good_friday": "working",
        "liberation_day": "lustrum",
        "school_holidays": "closed",
    }
