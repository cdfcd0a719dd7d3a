"""The directory's people on the running service (issue 24): who may act, change and read.

Each test configures its own SWV from the dev directory through the API, so the tests of
this module share one service and never each other's directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR, load_directory_file
from passend_assignment.domain.directory import directory_stream
from passend_assignment.reactors import RoutingReactor
from passend_assignment.responsibility import hold_worker, sync_responsibility
from passend_assignment.service import build_spec
from passend_assignment.streams import load_case
from passend_backbone import db
from passend_backbone.auth import Role
from passend_backbone.eventstore import EventStore, PostgresEventStore
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.trajectory import TrajectoryClosed
from passend_devstack.infra import Broker, Database
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from tests.conftest import create_database

from .kit import Clock, as_cloud_event, publish, running, settings_for, submission

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 3, 1, 9, tzinfo=UTC)
VLAARDINGEN = "wu-vlaardingen"
SCHIEDAM = "wu-schiedam-maassluis"


def worker(swv: str, subject: str, unit: str = VLAARDINGEN) -> dict[str, str]:
    return auth_header(Role.SUPPORT_WORKER, swv, subject=subject, work_unit_id=unit)


def dev_doc(swv: str) -> dict[str, Any]:
    """The dev directory as a document of tenant ``swv``."""
    return (
        load_directory_file(DEV_FILE)[0].model_copy(update={"swv_id": swv}).model_dump(mode="json")
    )


def without(doc: dict[str, Any], person_id: str) -> dict[str, Any]:
    """``doc`` with ``person_id`` gone from the people, the workers and the Team NO regions."""
    return {
        **doc,
        "people": [p for p in doc["people"] if p["person_id"] != person_id],
        "workers": [w for w in doc["workers"] if w["worker_id"] != person_id],
        "team_no_regions": [
            {**r, "members": [m for m in r.get("members", []) if m != person_id]}
            for r in doc.get("team_no_regions", [])
        ],
    }


@dataclass
class Service:
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    store: EventStore
    broker: Broker

    async def tenant(self) -> str:
        """A new SWV with the dev directory, put in place by its administrator."""
        swv = f"swv-{uuid4().hex[:8]}"
        admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
        put = await self.http.put("/directory", headers=admin, json=dev_doc(swv))
        assert put.status_code == 200, put.text
        return swv

    async def routed(self, swv: str, to: str = "ow-anouk") -> UUID:
        """A new case addressed to ``to``, routed as the routing reactor does it."""
        request = submission(worker=to, at=SUBMITTED)
        reactor = RoutingReactor(clock=lambda: SUBMITTED)
        async with self.pool.acquire() as conn, conn.transaction():
            await reactor.react(conn, as_cloud_event(request, swv), request, self.store)
        return request.case_id

    async def claimed(self, swv: str, by: str = "ow-anouk") -> UUID:
        case_id = await self.routed(swv, by)
        answer = await self.http.post(f"/cases/{case_id}/claim", headers=worker(swv, by))
        assert answer.status_code == 200, answer.text
        return case_id

    async def types(self, stream: str) -> list[str]:
        return [r.event_type.split(".")[-2] for r in await self.store.read_stream(stream)]


@pytest.fixture(scope="module")
async def service(database: Database, broker: Broker) -> AsyncIterator[Service]:
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
                store = PostgresEventStore(pool, "/passend/assignment")
                yield Service(http, pool, store, broker)
    finally:
        await pool.close()


ACTIONS: list[tuple[str, dict[str, Any] | None]] = [
    ("claim", None),
    ("offer", {"need_areas": []}),
    ("first-contact", {"contacted_at": (SUBMITTED + timedelta(minutes=30)).isoformat()}),
    ("route-coach", {"reason": "De samenwerking loopt vast"}),
]


async def _refusals(
    svc: Service, headers: dict[str, str], case_ids: list[UUID]
) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for case_id in case_ids:
        for what, body in ACTIONS:
            answer = await svc.http.post(f"/cases/{case_id}/{what}", headers=headers, json=body)
            problem = answer.json()
            out.append((answer.status_code, {k: problem.get(k) for k in ("rule", "detail")}))
    return out


async def test_w24_unknown_deactivated_and_misplaced_workers_are_refused_whatever_the_case(
    service: Service,
) -> None:
    swv = await service.tenant()
    offered = await service.routed(swv)
    anouk = worker(swv, "ow-anouk")
    answer = await service.http.post(f"/cases/{offered}/offer", headers=anouk, json={})
    assert answer.status_code == 200, answer.text
    # Chantal leaves (no open cases): the administrator deactivates her.
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    left = await service.http.put(
        "/directory",
        headers=admin,
        json={**without(dev_doc(swv), "ow-chantal"), "departures": {"ow-chantal": "vertrokken"}},
    )
    assert left.status_code == 200, left.text
    assert {"SupportWorkerProfiled", "PersonDeactivated"} <= {
        t.split(".")[-2] for t in left.json()["events"]
    }
    unknown = uuid4()
    callers = {
        "not in the directory": worker(swv, "ow-nobody"),
        "deactivated": worker(swv, "ow-chantal"),
        "another work unit in the token": worker(swv, "ow-bart", SCHIEDAM),
    }
    for why, headers in callers.items():
        answers = await _refusals(service, headers, [offered, unknown])
        assert {status for status, _ in answers} == {403}, (why, answers)
        assert {problem["rule"] for _, problem in answers} == {"W24"}, why
        # The same answer for the case in their unit's queue and for a case that isn't.
        half = len(ACTIONS)
        assert answers[:half] == answers[half:], why
    assert await service.types(str(offered)) == ["RequestRouted", "CaseOfferedToWorkUnit"]
    # An active colleague of the unit claims it from the queue.
    claimed = await service.http.post(f"/cases/{offered}/claim", headers=worker(swv, "ow-bart"))
    assert claimed.status_code == 200, claimed.text


async def test_a_unit_coordinator_changes_their_own_unit_and_nothing_else(
    service: Service,
) -> None:
    swv = await service.tenant()
    henk = auth_header(Role.COORDINATOR, swv, subject="co-henk", work_unit_id=VLAARDINGEN)
    own = dev_doc(swv)
    own["workers"] = [
        {**w, "weekly_case_hours": 10} if w["worker_id"] == "ow-bart" else w for w in own["workers"]
    ]
    changed = await service.http.put("/directory", headers=henk, json=own)
    assert changed.status_code == 200, changed.text
    assert [t.split(".")[-2] for t in changed.json()["events"]] == ["SupportWorkerProfiled"]
    version = len(await service.types(directory_stream(swv)))

    other = dev_doc(swv)
    other["workers"] = [
        {**w, "weekly_case_hours": 40} if w["worker_id"] == "ow-daan" else w
        for w in other["workers"]
    ]
    other["name"] = "Een andere naam"
    refused = await service.http.put("/directory", headers=henk, json=other)
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["rule"] == "directory"
    assert "worker ow-daan" in problem["detail"] and "the SWV's settings" in problem["detail"]
    # Ilse coordinates the other unit: her token naming Henk's unit changes nothing.
    ilse = auth_header(Role.COORDINATOR, swv, subject="co-ilse", work_unit_id=VLAARDINGEN)
    posing = await service.http.put("/directory", headers=ilse, json=own)
    assert posing.status_code == 403 and posing.json()["rule"] == "directory"
    assert len(await service.types(directory_stream(swv))) == version


async def test_w25_a_worker_with_open_cases_leaves_only_with_a_hand_over(
    service: Service,
) -> None:
    swv = await service.tenant()
    in_inbox = await service.routed(swv)  # unclaimed: Anouk is responsible (W25)
    claimed = await service.claimed(swv)
    closed = await service.claimed(swv)
    others = await service.claimed(swv, by="ow-bart")
    henk = auth_header(Role.COORDINATOR, swv, subject="co-henk", work_unit_id=VLAARDINGEN)
    leaving = without(dev_doc(swv), "ow-anouk")
    version = len(await service.types(directory_stream(swv)))

    # Trajectory closes one of Anouk's cases: it is nobody's open case any more.
    closing = TrajectoryClosed(case_id=closed, closed_by="ow-anouk", closed_at=SUBMITTED)
    event = CloudEvent(
        id=uuid4(),
        source="/passend/trajectory",
        type=closing.event_type,
        subject=str(closed),
        time=SUBMITTED,
        swv=swv,
        correlationid=str(uuid4()),
        causationid=str(uuid4()),
        actor="ow-anouk",
        streamversion=9,
        position=1,
        data=closing.model_dump(mode="json"),
    )
    await publish(service.broker, event, topic=topics.TRAJECTORY)

    async def refused_for_the_two_open_cases() -> dict[str, Any] | None:
        answer = await service.http.put("/directory", headers=henk, json=leaving)
        assert answer.status_code == 409, answer.text
        problem: dict[str, Any] = answer.json()
        return None if str(closed) in problem["detail"] else problem

    problem = await eventually(
        refused_for_the_two_open_cases, timeout=60, interval=0.3, what="the closing noted"
    )
    assert problem["rule"] == "W25"
    assert str(in_inbox) in problem["detail"] and str(claimed) in problem["detail"]
    assert str(others) not in problem["detail"] and "ow-anouk" in problem["detail"]
    assert len(await service.types(directory_stream(swv))) == version

    hand_over = {str(in_inbox): "ow-bart", str(claimed): "ow-chantal"}
    done = await service.http.put(
        "/directory", headers=henk, json={**leaving, "hand_over": hand_over}
    )
    assert done.status_code == 200, done.text
    assert done.json()["handed_over"] == hand_over
    for case_id, to in ((in_inbox, "ow-bart"), (claimed, "ow-chantal")):
        case, records = await load_case(service.store, case_id, swv)
        assert case.responsible_worker_id == to
        assert records[-1].data["handed_over_from"] == "ow-anouk"
        assert records[-1].actor == "co-henk"
        seen = await service.http.get(f"/cases/{case_id}", headers=worker(swv, to))
        assert seen.status_code == 200 and seen.json()["responsible_worker_id"] == to
    # She left: her commands are refused; the same document again changes nothing.
    gone = await service.http.post(f"/cases/{claimed}/claim", headers=worker(swv, "ow-anouk"))
    assert (gone.status_code, gone.json()["rule"]) == (403, "W24")
    again = await service.http.put(
        "/directory", headers=henk, json={**leaving, "hand_over": hand_over}
    )
    assert again.json() == {"events": []}


async def test_w25_a_claim_in_flight_holds_its_worker_until_it_commits(service: Service) -> None:
    swv = await service.tenant()
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    routed = await service.routed(swv, "ow-bart")
    case, _records = await load_case(service.store, routed, swv)
    async with service.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        # As a claim by Esra does: hold her, then (after reading the directory) take the case.
        await hold_worker(conn, swv, "ow-esra")
        removal = asyncio.create_task(
            service.http.put("/directory", headers=admin, json=without(dev_doc(swv), "ow-esra"))
        )
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(removal), 1.0)  # it waits for the claim
        await sync_responsibility(conn, replace(case, claimed_by="ow-esra"))
        await transaction.commit()
    answer = await removal
    assert answer.status_code == 409, answer.text
    assert str(routed) in answer.json()["detail"]


async def test_names_for_everyone_and_work_addresses_for_those_who_keep_the_directory(
    service: Service,
) -> None:
    swv = await service.tenant()
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    left = await service.http.put(
        "/directory", headers=admin, json=without(dev_doc(swv), "tno-ruud")
    )
    assert left.status_code == 200, left.text
    signed_in = {
        Role.IB: auth_header(Role.IB, swv, subject="ib-marieke", school_id="brin-11aa"),
        Role.TEACHER: auth_header(Role.TEACHER, swv, subject="lk-sanne", school_id="brin-11aa"),
        Role.SUPPORT_WORKER: worker(swv, "ow-anouk"),
        Role.AUDITOR: auth_header(Role.AUDITOR, swv, subject="auditor-1"),
        Role.PRIVACY_OFFICER: auth_header(Role.PRIVACY_OFFICER, swv, subject="fg-yvonne"),
        Role.COORDINATOR: auth_header(
            Role.COORDINATOR, swv, subject="co-henk", work_unit_id=VLAARDINGEN
        ),
        Role.SWV_ADMIN: admin,
        Role.OPERATOR: auth_header(Role.OPERATOR, swv, subject="op-kees"),
    }
    keepers = {Role.COORDINATOR, Role.SWV_ADMIN, Role.OPERATOR}
    ids = "ib-marieke,ow-anouk,tno-ruud,nobody"
    for role, headers in signed_in.items():
        names = await service.http.get("/directory/names", params={"ids": ids}, headers=headers)
        assert names.status_code == 200, (role, names.text)
        assert names.json() == {
            "ib-marieke": "Marieke de Vries",
            "ow-anouk": "Anouk Jansen",
            "tno-ruud": "Ruud Kramer",  # left, but keeps their name in what they did
        }
        one = await service.http.get("/directory/people/ib-marieke", headers=headers)
        assert one.status_code == 200, (role, one.text)
        expected = "marieke.devries@waterweg.passend.test" if role in keepers else None
        assert one.json()["email"] == expected, role
        assert one.json()["display_name"] == "Marieke de Vries"
        everyone = await service.http.get("/directory/people", headers=headers)
        if role in keepers:
            assert everyone.status_code == 200, (role, everyone.text)
            listed = {p["person_id"]: p for p in everyone.json()}
            assert listed["ow-anouk"]["email"] == "anouk.jansen@waterweg.passend.test"
            assert listed["tno-ruud"]["active"] is False and listed["ow-anouk"]["active"]
        else:
            assert (everyone.status_code, everyone.json()["rule"]) == (403, "roles"), role
            assert "waterweg.passend.test" not in everyone.text
    unknown = await service.http.get("/directory/people/nobody", headers=admin)
    assert (unknown.status_code, unknown.json()["rule"]) == (404, "directory")
    too_many = ",".join(f"p-{i}" for i in range(201))
    refused = await service.http.get("/directory/names", params={"ids": too_many}, headers=admin)
    assert refused.status_code == 422
    # Another SWV's people are not this one's.
    other = await service.tenant()
    foreign = auth_header(Role.SWV_ADMIN, other, subject="beheer-linda")
    assert (
        await service.http.get("/directory/names", params={"ids": ids}, headers=foreign)
    ).json()["tno-ruud"] == "Ruud Kramer"  # the other SWV's own Ruud, still listed there
    listed_there = (await service.http.get("/directory/people", headers=foreign)).json()
    assert next(p for p in listed_there if p["person_id"] == "tno-ruud")["active"] is True


async def test_an_ib_sees_her_schools_teachers_to_name_one_in_a_request(
    service: Service,
) -> None:
    """W16: the request names the pupil's teacher, chosen from the school's teachers; no
    one else's school's, nobody who left, and nobody outside a school gets the list."""
    swv = await service.tenant()
    ib = auth_header(Role.IB, swv, subject="ib-marieke", school_id="brin-11aa")
    shown = await service.http.get("/directory", headers=ib)
    assert shown.status_code == 200, shown.text
    assert shown.json()["teachers"] == [{"person_id": "lk-sanne", "display_name": "Sanne Bakker"}]
    elsewhere = auth_header(Role.IB, swv, subject="ib-other", school_id="brin-13cc")
    assert (await service.http.get("/directory", headers=elsewhere)).json()["teachers"] == []
    assert (await service.http.get("/directory", headers=worker(swv, "ow-anouk"))).json()[
        "teachers"
    ] == []
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    gone = await service.http.put(
        "/directory",
        headers=admin,
        json={**without(dev_doc(swv), "lk-sanne"), "departures": {"lk-sanne": "Vertrokken"}},
    )
    assert gone.status_code == 200, gone.text
    assert (await service.http.get("/directory", headers=ib)).json()["teachers"] == []
