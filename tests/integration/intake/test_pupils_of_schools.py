"""Schools number their own pupils: one number at two schools is two children.

Before, intake keyed a pupil by the SWV and the school's number alone, so "12345" at one
school and "12345" at another shared one key and one pseudonym: the second child's
request sealed its identity with the first child's key, and erasing one child erased the
other. The number now names a pupil together with its school.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_backbone.texts.tokens import ERASED
from passend_devstack.test_tokens import auth_header
from tests.integration.intake.kit import SCHOOL, SWV, Intake, body, ib
from tests.integration.intake.test_erasure_on_request import ASKED, officer

pytestmark = pytest.mark.integration

OTHER_SCHOOL = "school-07cd"


async def _two_children_numbered_alike(service: Intake) -> tuple[str, str, str]:
    number = f"{uuid4().int % 100_000:05d}-{uuid4().hex[:4]}"
    here = await service.submit(body(pupil_ref=number))
    there = await at_the_other_school(service, body(pupil_ref=number))
    return number, here, there


async def at_the_other_school(service: Intake, data: dict[str, Any]) -> str:
    """The case of ``data`` submitted by the IB of :data:`OTHER_SCHOOL`."""
    return await service.submit({**data, "school_id": OTHER_SCHOOL}, **ib(school=OTHER_SCHOOL))


async def test_one_number_at_two_schools_is_two_pupils_and_the_officer_picks_the_school(
    service: Intake,
) -> None:
    number, here, there = await _two_children_numbered_alike(service)
    shown_here = await service.visible(here)
    shown_there = await service.visible(there, headers=ib(school=OTHER_SCHOOL))
    assert shown_here["pupil_ref"] != shown_there["pupil_ref"]
    assert shown_here["school_pupil_ref"] == shown_there["school_pupil_ref"] == number

    # The bare number names neither child alone: refused, with the way out named.
    refused = await service.http.get(f"/privacy/pupils/{number}", headers=officer())
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "pupil_reference_ambiguous"
    named = await service.http.get("/privacy/pupils", params={"ref": number}, headers=officer())
    assert named.status_code == 200, named.text
    pupils: list[dict[str, Any]] = named.json()["pupils"]
    assert {(p["school_id"], p["pupil_ref"]) for p in pupils} == {
        (SCHOOL, shown_here["pupil_ref"]),
        (OTHER_SCHOOL, shown_there["pupil_ref"]),
    }
    assert {p["school_pupil_ref"] for p in pupils} == {number}

    # By pseudonym each child is one pupil with one case.
    preview = await service.http.get(
        f"/privacy/pupils/{shown_there['pupil_ref']}", headers=officer()
    )
    assert preview.status_code == 200, preview.text
    assert [c["case_id"] for c in preview.json()["cases"]] == [there]

    # Erasing the child at the other school leaves this school's child whole.
    erased = await service.http.post(
        f"/privacy/pupils/{shown_there['pupil_ref']}/erasure", json=ASKED, headers=officer()
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "carried_out"
    after_there = await service.http.get(f"/requests/{there}", headers=ib(school=OTHER_SCHOOL))
    assert after_there.json()["pupil"]["name"] == ERASED
    after_here = (await service.http.get(f"/requests/{here}", headers=ib())).json()
    assert after_here["pupil"]["name"] == "Sam Jansen"
    # Now the number names one pupil: the officer's lookup by number works again.
    alone = await service.http.get(f"/privacy/pupils/{number}", headers=officer())
    assert alone.status_code == 200, alone.text
    assert alone.json()["pupil_ref"] == shown_here["pupil_ref"]


async def test_a_teachers_pupils_are_those_of_the_teachers_school(service: Intake) -> None:
    number, here, there = await _two_children_numbered_alike(service)
    shown_here = await service.visible(here)
    shown_there = await service.visible(there, headers=ib(school=OTHER_SCHOOL))
    portal = auth_header(Role.SERVICE, SWV, subject="service:portal")
    for school, expected in ((SCHOOL, shown_here), (OTHER_SCHOOL, shown_there)):
        answer = await service.http.get(
            f"/internal/schools/{school}/pupils", params={"ref": number}, headers=portal
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["pupils"] == [
            {"school_ref": number, "pupil_ref": expected["pupil_ref"]}
        ]


async def test_keys_from_before_learn_their_school_from_the_first_request(
    service: Intake,
) -> None:
    """The migration's fill-in: a key row without a school gets the school of the pupil's
    first request, read from intake's own events."""
    case_id = await service.submit(body())
    pseudonym = (await service.visible(case_id))["pupil_ref"]
    sql = (
        resources.files("passend_intake.migrations")
        .joinpath("009_pupil_school.sql")
        .read_text(encoding="utf-8")
    )
    async with service.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE pupil_keys ALTER COLUMN school_id DROP NOT NULL")
        await conn.execute("UPDATE pupil_keys SET school_id = NULL WHERE pupil_ref = $1", pseudonym)
        await conn.execute(sql)
        school = await conn.fetchval(
            "SELECT school_id FROM pupil_keys WHERE pupil_ref = $1", pseudonym
        )
    assert school == SCHOOL


async def test_pupils_from_before_learn_their_teacher_from_the_latest_request(
    service: Intake,
) -> None:
    """The migration's fill-in: a pupil whose requests came before the teachers were kept
    beside the keys gets the teacher its latest request names, read from intake's events."""
    teacher = f"lk-{uuid4().hex[:6]}"
    first = body(teacher_id="lk-last-year")
    await service.submit(first)
    case_id = await service.submit({**body(teacher_id=teacher), "pupil_ref": first["pupil_ref"]})
    pseudonym = (await service.visible(case_id))["pupil_ref"]
    sql = (
        resources.files("passend_intake.migrations")
        .joinpath("010_pupil_teachers.sql")
        .read_text(encoding="utf-8")
    )
    async with service.pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM pupil_teachers WHERE pupil_ref = $1", pseudonym)
        await conn.execute(sql)
        named = await conn.fetchval(
            "SELECT teacher_id FROM pupil_teachers WHERE pupil_ref = $1", pseudonym
        )
    assert named == teacher


async def test_a_teachers_pupils_are_those_whose_latest_request_names_her(
    service: Intake,
) -> None:
    """W16: the IB names the pupil's teacher; the portal asks which pupils are hers when
    she signs in. Only her school's pupils, by the latest request (a new teacher next
    year takes over), never an erased pupil."""
    portal = auth_header(Role.SERVICE, SWV, subject="service:portal")
    teacher = f"lk-{uuid4().hex[:6]}"

    async def hers(school: str = SCHOOL) -> dict[str, str]:
        answer = await service.http.get(
            f"/internal/schools/{school}/pupils", params={"teacher": teacher}, headers=portal
        )
        assert answer.status_code == 200, answer.text
        return {p["school_ref"]: p["pupil_ref"] for p in answer.json()["pupils"]}

    first = body(teacher_id=teacher)
    second = body(teacher_id=teacher)
    first_case = await service.submit(first)
    second_case = await service.submit(second)
    other_school = body(teacher_id=teacher)
    await at_the_other_school(service, other_school)
    await service.submit(body())  # nobody's: no teacher named
    first_pupil = (await service.visible(first_case))["pupil_ref"]
    second_pupil = (await service.visible(second_case))["pupil_ref"]
    assert await hers() == {first["pupil_ref"]: first_pupil, second["pupil_ref"]: second_pupil}

    # The next request for the first pupil names another teacher: no longer hers.
    await service.submit({**body(teacher_id="lk-next-year"), "pupil_ref": first["pupil_ref"]})
    assert await hers() == {second["pupil_ref"]: second_pupil}
    # A later request naming her again makes the pupil hers again; one naming nobody, nobody's.
    await service.submit({**body(teacher_id=teacher), "pupil_ref": first["pupil_ref"]})
    assert await hers() == {first["pupil_ref"]: first_pupil, second["pupil_ref"]: second_pupil}
    await service.submit({**body(), "pupil_ref": first["pupil_ref"]})
    assert await hers() == {second["pupil_ref"]: second_pupil}

    # An erased pupil is nobody's.
    erased = await service.http.post(
        f"/privacy/pupils/{second_pupil}/erasure", json=ASKED, headers=officer()
    )
    assert erased.status_code == 200, erased.text
    assert await hers() == {}
    # The other school's pupil is hers there only.
    assert list(await hers(OTHER_SCHOOL)) == [other_school["pupil_ref"]]
