"""Finding a case (issue 19) against the running intake service: by its short number, its
whole number, the pupil's reference or the pupil's name, only within the caller's reach;
and the portal's search box on that service, landing on the case or saying in Dutch that
none was found."""

from __future__ import annotations

import logging
import random
import string
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from passend_backbone.auth import Role
from passend_contracts.events.assignment import RouteCoachCalledIn
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from passend_intake.erasure import erase_pupil
from passend_intake.name_search import plain
from passend_portal.app import create_app
from passend_portal.session import COOKIE, Session, encode
from tests.integration.intake.kit import NOW, SCHOOL, SWV, Intake, body, ib, publish, worker
from tests.portal.fakes import SECRET, FakeServices, settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Setting per-request cookies"),
]


async def found(service: Intake, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    answer = await service.http.get("/requests", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


async def test_a_case_is_found_by_short_number_whole_number_or_pupil_reference(
    service: Intake,
) -> None:
    data = body()
    case_id = await service.submit(data)
    await service.visible(case_id)
    for text in (case_id[:8], case_id[:8].upper(), case_id, data["pupil_ref"].upper()):
        rows = await found(service, ib(), find=text)
        assert [r["case_id"] for r in rows] == [case_id], text
    (row,) = rows
    assert (row["school_pupil_ref"], row["school_id"], row["status"]) == (
        data["pupil_ref"],
        SCHOOL,
        "submitted",
    )
    # Intake's pseudonym of the pupil finds it too (issue 20: the events carry only that).
    assert row["pupil_ref"] != data["pupil_ref"]
    assert [r["case_id"] for r in await found(service, ib(), find=row["pupil_ref"])] == [case_id]
    listed = await found(service, worker(), case_ids=f"{case_id},{uuid4()}")
    assert [r["case_id"] for r in listed] == [case_id]


async def test_nothing_out_of_reach_is_found(service: Intake) -> None:
    data = body()
    case_id = await service.submit(data)
    await service.visible(case_id)
    other_school = ib(school="school-99zz", subject="ib-other")
    other_swv = ib(swv="swv-elders")
    teacher = auth_header(Role.TEACHER, SWV, subject="t-1", school_id=SCHOOL)
    for headers in (other_school, other_swv, teacher):
        for text in (case_id[:8], case_id, data["pupil_ref"]):
            assert await found(service, headers, find=text) == [], text
        assert await found(service, headers, case_ids=case_id) == []
    # A prefix too short to be a case number finds nothing (never every case).
    assert await found(service, ib(), find=case_id[:3]) == []


async def test_a_search_needs_a_text_or_case_ids_and_a_reading_role(service: Intake) -> None:
    empty = await service.http.get("/requests", headers=ib())
    assert empty.status_code == 422 and empty.json()["field"] == "find"
    bad = await service.http.get("/requests", params={"case_ids": "nope"}, headers=ib())
    assert bad.status_code == 422 and bad.json()["field"] == "case_ids"
    nul = await service.http.get("/requests", params={"find": "ab\x00cdef"}, headers=ib())
    assert nul.status_code == 200 and nul.json() == []  # no reference holds a NUL
    operator = auth_header(Role.OPERATOR, SWV, subject="op-1")
    refused = await service.http.get("/requests", params={"find": "abcdef"}, headers=operator)
    assert refused.status_code == 403


async def test_a_route_coach_lists_the_cases_called_into_and_no_other_W29(
    service: Intake,
) -> None:
    coach = auth_header(Role.ROUTE_COACH, SWV, subject="rc-lijst")
    other_coach = auth_header(Role.ROUTE_COACH, SWV, subject="rc-ander")
    called, not_called = await service.submit(body()), await service.submit(body())
    await service.visible(not_called)
    assert await found(service, coach, called_in="true") == []
    await publish(
        service.broker,
        SWV,
        RouteCoachCalledIn(
            case_id=UUID(called),
            route_coach_id="rc-lijst",
            called_by="ib-7731",
            side="school",
            reason="School en onderwijsondersteuner zijn het oneens",
            called_at=NOW + timedelta(days=2),
        ),
    )

    async def listed() -> list[dict[str, Any]] | None:
        rows = await found(service, coach, called_in="true")
        return rows or None

    rows = await eventually(listed, timeout=30, what="the case the coach was called into")
    assert [(r["case_id"], r["status"]) for r in rows] == [(called, "submitted")]
    assert await found(service, other_coach, called_in="true") == []
    # Only a route coach is called into cases: anyone else is told so.
    refused = await service.http.get("/requests", params={"called_in": "true"}, headers=ib())
    assert refused.status_code == 422 and refused.json()["field"] == "called_in"


class ToIntake(httpx.AsyncBaseTransport):
    """The portal's calls: to the running intake as they are, the other services faked."""

    def __init__(self, intake_url: str, fake: FakeServices) -> None:
        self.intake_host = httpx.URL(intake_url).host
        self.real = httpx.AsyncHTTPTransport()
        self.fake = fake.transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.intake_host:
            return await self.real.handle_async_request(request)
        return await self.fake.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.fixture
async def portal(service: Intake) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings()
    urls = {**configured.service_urls, "intake": str(service.http.base_url).rstrip("/")}
    app = create_app(
        replace(configured, service_urls=urls),
        transport=ToIntake(urls["intake"], FakeServices()),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


def signed_in(headers: dict[str, str], **claims: Any) -> dict[str, str]:
    """The portal's session cookie holding the token of ``headers``."""
    token = headers["Authorization"].removeprefix("Bearer ")
    session = Session(token=token, started=time.time(), **claims)
    return {COOKIE: encode(session, SECRET)}


async def test_the_portals_search_box_lands_on_the_case_or_says_none_was_found(
    service: Intake, portal: httpx.AsyncClient
) -> None:
    data = body()
    case_id = await service.submit(data)
    await service.visible(case_id)
    mine = signed_in(ib(), subject="ib-7731", role="ib", swv=SWV, school_id=SCHOOL)
    for text in (case_id[:8], case_id, data["pupil_ref"]):
        answer = await portal.get("/zoeken", params={"q": text}, cookies=mine)
        assert answer.status_code == 303, answer.text[:500]
        assert answer.headers["location"] == f"/zaken/{case_id}"
    opened = await portal.get("/zaken", params={"casus": case_id[:8]}, cookies=mine)
    assert opened.headers["location"] == f"/zaken/{case_id}"
    # By the pupil's name, typed in part and without its accent: one pupil, her case.
    named = body()
    family = f"Çelik{letters()}"
    named["pupil"] = {**named["pupil"], "name": f"Noor {family}"}
    named_id = await service.submit(named)
    await service.visible(named_id)
    answer = await portal.get("/zoeken", params={"q": f"noor {plain(family)}"}, cookies=mine)
    assert (answer.status_code, answer.headers.get("location")) == (303, f"/zaken/{named_id}")

    elsewhere = ib(swv="swv-elders", subject="ib-elders")
    other = signed_in(elsewhere, subject="ib-elders", role="ib", swv="swv-elders")
    page = await portal.get("/zoeken", params={"q": case_id[:8]}, cookies=other)
    assert page.status_code == 200
    assert f"Geen casus gevonden met „{case_id[:8]}”" in page.text
    assert case_id not in page.text


# --- Finding a pupil by name (issue 19) ----------------------------------------------------


def letters(n: int = 7) -> str:
    """A made-up stretch of letters: names of this test's own pupils, found by no other."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


async def by_name(service: Intake, headers: dict[str, str], text: str) -> dict[str, str | None]:
    """``{case_id: pupil_name}`` of what a search for ``text`` answers."""
    return {r["case_id"]: r.get("pupil_name") for r in await found(service, headers, find=text)}


async def test_a_pupil_is_found_by_name_within_reach_by_the_roles_that_see_names(
    service: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tag = letters()
    family = f"Özdemir{tag}"
    ours = body()
    ours["pupil"] = {**ours["pupil"], "name": f"Zoë {family}"}
    ours_id = await service.submit(ours)
    other_school = "school-77yy"
    theirs = body(school_id=other_school, addressed_worker_id="worker-0555")
    theirs["pupil"] = {**theirs["pupil"], "name": f"Zoe Jansen{tag}"}
    other_ib = ib(school=other_school, subject="ib-other")
    theirs_id = await service.submit(theirs, **other_ib)
    await service.visible(ours_id)
    await service.visible(theirs_id, other_ib)

    # The IB: the own school's pupil, by the whole name, the family name alone, part of
    # it, in capitals or without the accents; the name comes with the match.
    for text in (f"Zoë {family}", family, f"demir{tag}", family.upper(), f"ozdemir{tag}"):
        assert await by_name(service, ib(), text) == {ours_id: f"Zoë {family}"}, text
    assert await by_name(service, ib(), f"{family} zoe") == {ours_id: f"Zoë {family}"}
    # Never another school's pupil (within the IB's reach only), even with its exact name.
    assert await by_name(service, ib(), f"Zoe Jansen{tag}") == {}
    assert await by_name(service, other_ib, f"zoe jansen{tag}") == {theirs_id: f"Zoe Jansen{tag}"}
    assert await by_name(service, other_ib, family) == {}

    # The support worker the request is addressed to; not a colleague without the case.
    assert await by_name(service, worker(), family) == {ours_id: f"Zoë {family}"}
    assert await by_name(service, worker("worker-0999"), family) == {}
    # The education specialist reaches the whole SWV: both schools' pupils.
    specialist = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject="os-1")
    both = {ours_id: f"Zoë {family}", theirs_id: f"Zoe Jansen{tag}"}
    assert await by_name(service, specialist, tag) == both
    # A teacher finds the own pupils only (those in the token, by intake's pseudonym).
    pseudonym = (await service.visible(ours_id))["pupil_ref"]
    teacher = auth_header(
        Role.TEACHER, SWV, subject="t-1", school_id=SCHOOL, pupil_refs=(pseudonym,)
    )
    assert await by_name(service, teacher, family) == {ours_id: f"Zoë {family}"}
    # Roles not shown the name find nothing by it, even within reach (the auditor reaches
    # every case); by the pupil's reference they still do, without a name.
    auditor = auth_header(Role.AUDITOR, SWV, subject="auditor-1")
    assert await by_name(service, auditor, family) == {}
    assert await by_name(service, auditor, ours["pupil_ref"]) == {ours_id: None}
    team_no = auth_header(Role.TEAM_NO_MEMBER, SWV, subject="tno-1", region="waterweg")
    assert await by_name(service, team_no, family) == {}
    # Too little to look for, or a number: no name search at all.
    assert await by_name(service, ib(), "z") == {}

    # Each match shown is logged as read by whoever searched, as its own view.
    reads = await service.pool.fetch(
        "SELECT reader, view FROM case_reads WHERE case_id = $1 AND view = 'intake.find_by_name'",
        ours_id,
    )
    assert {r["reader"] for r in reads} >= {"ib-7731", "worker-0192", "os-1", "t-1"}
    assert "auditor-1" not in {r["reader"] for r in reads}
    # The searched text is written nowhere: not in the events, the read log or the logs.
    assert tag not in await service.all_event_text()
    logged = await service.pool.fetch("SELECT row_to_json(c)::text AS t FROM case_reads c")
    assert not any(tag in r["t"] for r in logged)
    lines = [r.getMessage() for r in caplog.records if r.name != "httpx"]  # not this test's
    assert [line for line in lines if tag in line] == []
    assert any("GET /requests?find=[redacted]" in line for line in lines)  # the access log

    # An erased pupil never matches (the key is gone); the school's reference names nobody
    # any more, intake's pseudonym still finds the case.
    assert await erase_pupil(service.pool, SWV, ours["pupil_ref"], erased_by="fg-1", now=NOW)
    assert await by_name(service, ib(), family) == {}
    assert await by_name(service, specialist, tag) == {theirs_id: f"Zoe Jansen{tag}"}
    assert await by_name(service, ib(), ours["pupil_ref"]) == {}
    assert await by_name(service, ib(), pseudonym) == {ours_id: None}
