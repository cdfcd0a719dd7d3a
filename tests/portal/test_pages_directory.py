"""The directory's people on screen (issue 24, W25): a coordinator's own unit, the
administrator's whole SWV; registering sends the directory as it is plus one person;
a removal refused for open cases lists them in Dutch and hands them over."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from passend_assignment.domain.directory_doc import SwvDoc
from passend_portal import directory_people
from passend_portal.clients import ServiceError
from tests.portal.fakes import CASE, FakeServices, cookie, with_token

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
COORDINATOR = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
ADMIN = {"role": "swv_admin", "subject": "beheer-linda"}

DIRECTORY: dict[str, Any] = {
    "version": 7,
    "settings": {
        "swv_id": "swv-waterweg",
        "name": "SWV Waterweg",
        "education_specialist_id": "os-marleen",
        "route_coach_id": None,
        "case_hours_per_week": 2.0,
        "expertise_areas": [{"area_id": "reading", "label": "Lezen", "keywords": ["lezen"]}],
        "configured_at": "2026-09-01T08:00:00Z",
        "calendar": None,
    },
    "calendar": {"good_friday": "closed"},
    "work_units": [
        {
            "swv_id": "swv-waterweg",
            "work_unit_id": "wu-vlaardingen",
            "name": "Werkeenheid Vlaardingen",
            "coordinator_id": "co-henk",
            "defined_at": "2026-09-01T08:00:00Z",
        },
        {
            "swv_id": "swv-waterweg",
            "work_unit_id": "wu-schiedam",
            "name": "Werkeenheid Schiedam",
            "coordinator_id": "co-ilse",
            "defined_at": "2026-09-01T08:00:00Z",
        },
    ],
    "workers": [
        {
            "swv_id": "swv-waterweg",
            "worker_id": worker,
            "work_unit_id": unit,
            "expertise": ["reading"],
            "weekly_case_hours": 16.0,
            "known_schools": ["brin-11aa"],
            "active": active,
            "profiled_at": "2026-09-01T08:00:00Z",
        }
        for worker, unit, active in (
            ("ow-anouk", "wu-vlaardingen", True),
            ("ow-bart", "wu-vlaardingen", True),
            ("ow-daan", "wu-schiedam", True),
            ("ow-oud", "wu-vlaardingen", False),
        )
    ],
    "schools": [
        {
            "swv_id": "swv-waterweg",
            "school_id": "brin-11aa",
            "name": "Basisschool De Havenmeester",
            "municipality": "GM0622",
            "holiday_region": "midden",
            "registered_at": "2026-09-01T08:00:00Z",
        }
    ],
    "school_holidays": {
        "midden": [{"name": "kerstvakantie", "first_day": "2026-12-19", "last_day": "2027-01-03"}]
    },
}


def person(pid: str, name: str, roles: list[str], **place: Any) -> dict[str, Any]:
    return {
        "person_id": pid,
        "display_name": name,
        "email": f"{pid}@waterweg.passend.test",
        "roles": roles,
        "school_id": place.get("school_id"),
        "work_unit_id": place.get("work_unit_id"),
        "region": None,
        "groups": place.get("groups", []),
        "active": place.get("active", True),
    }


PEOPLE = [
    person("ow-anouk", "Anouk Jansen", ["support_worker"], work_unit_id="wu-vlaardingen"),
    person("ow-bart", "Bart van Leeuwen", ["support_worker"], work_unit_id="wu-vlaardingen"),
    person("ow-daan", "Daan Smit", ["support_worker"], work_unit_id="wu-schiedam"),
    person("co-henk", "Henk Mulder", ["coordinator"], work_unit_id="wu-vlaardingen"),
    person("co-ilse", "Ilse Verbeek", ["coordinator"], work_unit_id="wu-schiedam"),
    person("lk-sanne", "Sanne Bakker", ["teacher"], school_id="brin-11aa", groups=["groep 5"]),
    person("os-marleen", "Marleen Dekker", ["education_specialist"]),
    person("ow-oud", "Olga Oud", ["support_worker"], work_unit_id="wu-vlaardingen", active=False),
]


def form(**fields: str) -> str:
    return str(httpx.QueryParams(fields))


@pytest.fixture
def directory(fake: FakeServices) -> FakeServices:
    fake.on("GET", "assignment", "/directory", (200, copy.deepcopy(DIRECTORY)))
    fake.on("GET", "assignment", "/directory/people", (200, copy.deepcopy(PEOPLE)))
    return fake


def put_bodies(fake: FakeServices) -> list[Any]:
    return [c[3] for c in fake.calls if c[0] == "PUT" and c[2] == "/directory"]


def test_the_document_is_the_directory_as_it_stands() -> None:
    """Only active workers and people, no stamps: a document assignment takes as it is."""
    doc = directory_people.document(DIRECTORY, PEOPLE)
    SwvDoc.model_validate(doc)
    assert [w["worker_id"] for w in doc["workers"]] == ["ow-anouk", "ow-bart", "ow-daan"]
    assert "ow-oud" not in {p["person_id"] for p in doc["people"]}
    assert doc["calendar"] is None and "configured_at" not in doc
    assert doc["work_units"][0] == {
        "work_unit_id": "wu-vlaardingen",
        "name": "Werkeenheid Vlaardingen",
        "coordinator_id": "co-henk",
    }


def test_the_open_cases_are_read_from_the_W25_refusal_only() -> None:
    message = (
        f"ow-anouk still is responsible for open cases {CASE}: hand each over in hand_over "
        "(case id -> support worker) in the same document"
    )
    refused = ServiceError("assignment", 409, {"rule": "W25", "message": message})
    assert directory_people.open_cases(refused) == [CASE]
    other = ServiceError("assignment", 409, {"rule": "concurrency", "message": CASE})
    assert directory_people.open_cases(other) is None


async def test_a_coordinator_sees_the_people_of_their_own_unit_by_name(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    page = await portal.get("/mensen", cookies=cookie(**COORDINATOR))
    assert page.status_code == 200
    assert "Medewerkers van Werkeenheid Vlaardingen" in page.text
    assert "Anouk Jansen" in page.text and "Bart van Leeuwen" in page.text
    assert "Onderwijsondersteuner" in page.text and "Uitgeschreven" in page.text
    # Another unit's people and people without a unit are the administrator's.
    assert "Daan Smit" not in page.text and "Sanne Bakker" not in page.text
    # The coordinator deactivates support workers, not themself (a coordinator's role).
    assert "/mensen/ow-anouk/uitschrijven" in page.text
    assert "/mensen/co-henk/uitschrijven" not in page.text


async def test_the_administrator_sees_everyone_with_school_and_unit_names(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    page = await portal.get("/mensen", cookies=cookie(**ADMIN))
    assert page.status_code == 200
    for name in ("Anouk Jansen", "Daan Smit", "Sanne Bakker", "Marleen Dekker"):
        assert name in page.text
    assert "Basisschool De Havenmeester" in page.text and "Werkeenheid Schiedam" in page.text
    assert "Leerkracht" in page.text and "groep 5" in page.text
    assert "/mensen/co-ilse/uitschrijven" in page.text
    assert (await portal.get("/", cookies=cookie(**ADMIN))).headers["location"] == "/mensen"


async def test_others_do_not_keep_the_directory(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    teacher = cookie(role="teacher", subject="lk-sanne", school_id="brin-11aa")
    page = await portal.get("/mensen", cookies=teacher)
    assert page.status_code == 403


async def test_the_administrator_registers_a_teacher_in_the_directory_as_it_stands(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    directory.on("PUT", "assignment", "/directory", (200, {"events": ["x"]}))
    admin = cookie(**ADMIN)
    answer = await portal.post(
        "/mensen/nieuw",
        headers=FORM,
        cookies=admin,
        content=with_token(
            form(
                **{
                    "persoon.key": "k-7",
                    "persoon.display_name": "Tim de Boer",
                    "persoon.person_id": "lk-tim",
                    "persoon.email": "tim.deboer@waterweg.passend.test",
                    "persoon.role": "teacher",
                    "persoon.school_id": "brin-11aa",
                    "persoon.groups": "groep 6, groep 7",
                    "persoon.work_unit_id": "wu-vlaardingen",  # not a teacher's: left out
                }
            ),
            admin,
        ),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/mensen?klaar=ingeschreven&wie=lk-tim"
    (sent,) = put_bodies(directory)
    before = directory_people.document(DIRECTORY, PEOPLE)
    assert sent["people"][:-1] == before["people"] and sent["workers"] == before["workers"]
    assert sent["people"][-1] == {
        "person_id": "lk-tim",
        "display_name": "Tim de Boer",
        "email": "tim.deboer@waterweg.passend.test",
        "roles": ["teacher"],
        "school_id": "brin-11aa",
        "work_unit_id": None,
        "region": None,
        "groups": ["groep 6", "groep 7"],
    }
    SwvDoc.model_validate(sent)
    assert next(c for c in directory.calls if c[0] == "PUT")[4]["Idempotency-Key"] == "k-7"


async def test_a_coordinator_registers_a_support_worker_of_their_own_unit(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    directory.on("PUT", "assignment", "/directory", (200, {"events": ["x"]}))
    coordinator = cookie(**COORDINATOR)
    page = await portal.get("/mensen/nieuw", cookies=coordinator)
    assert "Onderwijsondersteuner toevoegen" in page.text and 'name="persoon.role"' not in page.text
    answer = await portal.post(
        "/mensen/nieuw",
        headers=FORM,
        cookies=coordinator,
        content=with_token(
            form(
                **{
                    "persoon.display_name": "Fenna Kok",
                    "persoon.person_id": "ow-fenna",
                    "persoon.role": "swv_admin",  # ignored: a coordinator's unit role only
                    "persoon.weekly_case_hours": "12,5",
                    "persoon.expertise": "reading",
                    "persoon.known_schools": "brin-11aa",
                }
            ),
            coordinator,
        ),
    )
    assert answer.status_code == 303
    (sent,) = put_bodies(directory)
    assert sent["people"][-1]["roles"] == ["support_worker"]
    assert sent["people"][-1]["work_unit_id"] == "wu-vlaardingen"
    assert sent["workers"][-1] == {
        "worker_id": "ow-fenna",
        "work_unit_id": "wu-vlaardingen",
        "expertise": ["reading"],
        "weekly_case_hours": "12.5",
        "known_schools": ["brin-11aa"],
    }
    SwvDoc.model_validate(sent)


async def test_a_registration_without_name_or_place_is_refused_in_Dutch(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    admin = cookie(**ADMIN)
    page = await portal.post(
        "/mensen/nieuw",
        headers=FORM,
        cookies=admin,
        content=with_token(form(**{"persoon.person_id": "ow-anouk", "persoon.role": "ib"}), admin),
    )
    assert page.status_code == 422
    assert "Vul de naam in" in page.text
    assert "Er staat al iemand met deze inlognaam" in page.text
    assert "Kies de school." in page.text
    assert put_bodies(directory) == []


async def test_a_worker_with_open_cases_is_not_removed_before_they_are_handed_over_W25(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    message = (
        f"ow-anouk still is responsible for open cases {CASE}: hand each over in hand_over "
        "(case id -> support worker) in the same document"
    )

    def refuse_unless_handed_over(request: httpx.Request) -> tuple[int, Any]:
        import json

        doc = json.loads(request.content)
        if doc.get("hand_over"):
            return 200, {"events": ["x"], "handed_over": doc["hand_over"]}
        return 409, {"detail": {"rule": "W25", "message": message}}

    directory.on("PUT", "assignment", "/directory", refuse_unless_handed_over)
    directory.on(
        "GET",
        "intake",
        f"/requests/{CASE}",
        (200, {"school_id": "brin-11aa", "pupil": {"name": "Noor Visser"}}),
    )
    coordinator = cookie(**COORDINATOR)
    confirm = await portal.get("/mensen/ow-anouk/uitschrijven", cookies=coordinator)
    assert confirm.status_code == 200 and "Anouk Jansen uitschrijven" in confirm.text
    refused = await portal.post(
        "/mensen/ow-anouk/uitschrijven",
        headers=FORM,
        cookies=coordinator,
        content=with_token(form(**{"uitschrijven.reason": "Uit dienst"}), coordinator),
    )
    assert refused.status_code == 409
    assert "Anouk Jansen kan nog niet worden uitgeschreven" in refused.text
    assert "verantwoordelijk voor een open casus" in refused.text
    assert f"Casus {CASE[:8]}: Noor Visser (Basisschool De Havenmeester)" in refused.text
    # Who may take it over: the support workers who stay, of the coordinator's own unit.
    assert "Bart van Leeuwen" in refused.text and "Daan Smit" not in refused.text
    assert "hand each over" not in refused.text.split("Technische melding")[0]
    (first,) = put_bodies(directory)
    assert "ow-anouk" not in {p["person_id"] for p in first["people"]}
    assert "ow-anouk" not in {w["worker_id"] for w in first["workers"]}
    assert first["departures"] == {"ow-anouk": "Uit dienst"}

    done = await portal.post(
        "/mensen/ow-anouk/uitschrijven",
        headers=FORM,
        cookies=coordinator,
        content=with_token(
            form(
                **{
                    "uitschrijven.reason": "Uit dienst",
                    f"uitschrijven.overdracht.{CASE}": "ow-bart",
                }
            ),
            coordinator,
        ),
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/mensen?klaar=uitgeschreven&wie=ow-anouk"
    assert put_bodies(directory)[-1]["hand_over"] == {CASE: "ow-bart"}


async def test_a_coordinator_changing_another_unit_reads_why_in_Dutch(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    directory.on(
        "PUT",
        "assignment",
        "/directory",
        (
            403,
            {
                "detail": {
                    "rule": "directory",
                    "message": "you coordinate wu-vlaardingen; this document also changes "
                    "person ow-daan: ask the SWV's administrator",
                }
            },
        ),
    )
    coordinator = cookie(**COORDINATOR)
    page = await portal.post(
        "/mensen/ow-daan/uitschrijven",
        headers=FORM,
        cookies=coordinator,
        content=with_token("", coordinator),
    )
    assert page.status_code == 403
    assert "U beheert alleen de onderwijsondersteuners van uw eigen werkeenheid" in page.text


async def test_the_directorys_field_error_lands_on_the_registration_form_field(
    portal: httpx.AsyncClient, directory: FakeServices
) -> None:
    error = {
        "type": "string_pattern_mismatch",
        "loc": ["body", "people", 7, "email"],
        "msg": "String should match pattern",
    }
    directory.on("PUT", "assignment", "/directory", (422, {"detail": [error]}))
    admin = cookie(**ADMIN)
    page = await portal.post(
        "/mensen/nieuw",
        headers=FORM,
        cookies=admin,
        content=with_token(
            form(
                **{
                    "persoon.display_name": "Tim de Boer",
                    "persoon.person_id": "lk-tim",
                    "persoon.email": "tim@",
                    "persoon.role": "teacher",
                    "persoon.school_id": "brin-11aa",
                }
            ),
            admin,
        ),
    )
    assert page.status_code == 422
    assert 'id="f-persoon-email-fout"' in page.text
    assert "Vul een geldig e-mailadres in." in page.text
    assert "zie de velden hieronder" in page.text
