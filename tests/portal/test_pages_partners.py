"""The partners' screens (C, W16): the teacher's pupils, measures and reflections, the
pupil's group, and inviting an adviser, rendered in Dutch with names, refusals in Dutch."""

from __future__ import annotations

import httpx
import pytest

from tests.portal.fakes import (
    CASE,
    IB,
    REQUEST_DETAIL,
    WORKER,
    FakeServices,
    cookie,
    trajectory,
    with_token,
)

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TEACHER = {"role": "teacher", "subject": "lk-sanne", "school_id": "brin-11aa"}
SPECIALIST = {"role": "education_specialist", "subject": "os-marleen"}
OTHER = "9b1d3f2c-8a4e-4e6f-a7c5-2d8b0e4f6a99"
MEASURE = "0f8d6a52-1c3b-4e7a-9d2f-5b6c7e8a9d01"
NAMES = {
    "ow-anouk": "Anouk Jansen",
    "lk-sanne": "Sanne Bakker",
    "os-marleen": "Marleen Dekker",
    "rb-jeroen": "Jeroen Bos",
    "ib-marieke": "Marieke de Vries",
}
DIRECTORY = {
    "version": 3,
    "settings": {
        "swv_id": "swv-waterweg",
        "name": "SWV Waterweg",
        "education_specialist_id": "os-marleen",
        "route_coach_id": "rb-jeroen",
    },
}


def form(**fields: str) -> str:
    return str(httpx.QueryParams(fields))


def summary(case_id: str, pupil_ref: str) -> dict[str, object]:
    return {
        "case_id": case_id,
        "school_id": "brin-11aa",
        "ib_id": "ib-marieke",
        "addressed_worker_id": "ow-anouk",
        "pupil_ref": pupil_ref,
        "levels": ["pupil"],
        "status": "in_trajectory",
        "consent_status": "confirmed",
        "submitted_at": "2026-09-14T08:30:00Z",
    }


def with_measure() -> dict[str, object]:
    return trajectory(
        group="groep 5",
        measures=[
            {
                "case_id": CASE,
                "measure_id": MEASURE,
                "description": "Time-timer op tafel",
                "tried_from": "2026-10-05",
                "tried_until": None,
                "observations": "Begint sneller aan zijn werk.",
                "group": "groep 5",
                "recorded_by": "lk-sanne",
                "recorded_at": "2026-10-16T15:30:00Z",
            }
        ],
        reflections=[],
        invitations=[],
    )


def answer_names(request: httpx.Request) -> tuple[int, object]:
    wanted = request.url.params.get("ids", "").split(",")
    return 200, {i: NAMES[i] for i in wanted if i in NAMES}


@pytest.fixture
def case_services(fake: FakeServices) -> FakeServices:
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, with_measure()))
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "assignment", "/directory", (200, DIRECTORY))
    fake.on("GET", "assignment", "/directory/names", answer_names)
    return fake


async def test_the_teacher_sees_the_pupils_of_their_own_group_by_name_C_W16(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "GET",
        "assignment",
        "/directory/people/lk-sanne",
        (200, {"person_id": "lk-sanne", "groups": ["groep 5"], "active": True}),
    )
    fake.on(
        "GET",
        "intake",
        "/schools/brin-11aa/requests",
        (200, [summary(CASE, "leerling-042"), summary(OTHER, "leerling-077")]),
    )
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, with_measure()))
    fake.on(
        "GET",
        "trajectory",
        f"/cases/{OTHER}/trajectory",
        (200, trajectory(case_id=OTHER, group="groep 7", measures=[], reflections=[])),
    )
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "assignment", "/directory/names", answer_names)
    page = await portal.get("/klas", cookies=cookie(**TEACHER))
    assert page.status_code == 200
    assert "Mijn leerlingen met een traject" in page.text
    assert "Noor Visser" in page.text and "Anouk Jansen" in page.text
    assert f'href="/zaken/{CASE}/samenwerken"' in page.text
    # A pupil of another group is not the teacher's (W16).
    assert OTHER not in page.text and "leerling-077" not in page.text


async def test_a_teacher_sees_the_requests_naming_her_before_a_trajectory_W16(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "GET",
        "assignment",
        "/directory/people/lk-sanne",
        (200, {"person_id": "lk-sanne", "groups": ["groep 5"], "active": True}),
    )
    waiting = {**summary(CASE, "lln-0a1b2c3d4e5f"), "status": "submitted"}
    # Claimed: the trajectory opened, no group recorded yet; still hers to read along.
    claimed = summary(OTHER, "lln-9f8e7d6c5b4a")
    fake.on("GET", "intake", "/schools/brin-11aa/requests", (200, [waiting, claimed]))
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "intake", f"/requests/{OTHER}", (200, {**REQUEST_DETAIL, "case_id": OTHER}))
    fake.on(
        "GET",
        "trajectory",
        f"/cases/{OTHER}/trajectory",
        (200, trajectory(case_id=OTHER, group=None, measures=[], reflections=[])),
    )
    page = await portal.get("/klas", cookies=cookie(**TEACHER))
    assert page.status_code == 200
    assert "Aanvragen voor uw leerlingen" in page.text
    assert f'<a href="/zaken/{CASE}">Noor Visser</a>' in page.text
    assert f'<a href="/zaken/{OTHER}">Noor Visser</a>' in page.text
    assert "ingediend, wacht op een onderwijsondersteuner" in page.text
    assert "traject loopt" in page.text
    assert "aangevraagd op 14 september 2026" in page.text
    assert "geen leerlingen van uw groep met een traject" in page.text


async def test_a_teacher_without_pupils_of_their_group_reads_so(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/schools/brin-11aa/requests", (200, []))
    page = await portal.get("/klas", cookies=cookie(**TEACHER))
    assert page.status_code == 200
    assert "geen leerlingen van uw groep met een traject" in page.text


async def test_the_teacher_sees_measures_and_records_one_C(
    portal: httpx.AsyncClient, case_services: FakeServices
) -> None:
    page = await portal.get(f"/zaken/{CASE}/samenwerken", cookies=cookie(**TEACHER))
    assert page.status_code == 200
    assert "Samenwerken rond Noor Visser" in page.text
    assert "Time-timer op tafel" in page.text and "Sanne Bakker" in page.text
    assert "Maatregel vastleggen" in page.text and "Reflectie vastleggen" in page.text
    assert "Marleen Dekker" in page.text  # the adviser one may invite, by name
    case_services.on(
        "POST", "trajectory", f"/cases/{CASE}/measures", (200, {"case_id": CASE, "version": 9})
    )
    teacher = cookie(**TEACHER)
    answer = await portal.post(
        f"/zaken/{CASE}/samenwerken/maatregel",
        headers=FORM,
        cookies=teacher,
        content=with_token(
            form(
                **{
                    "maatregel.key": "k-1",
                    "maatregel.measure_id": MEASURE,
                    "maatregel.description": "Koptelefoon bij zelfstandig werken",
                    "maatregel.tried_from": "2026-10-05",
                    "maatregel.tried_until": "",
                    "maatregel.observations": "Minder afgeleid.",
                }
            ),
            teacher,
        ),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/zaken/{CASE}/samenwerken?wacht=trajectory:9"
    method, _, path, body, headers = case_services.calls[-1]
    assert (method, path) == ("POST", f"/cases/{CASE}/measures")
    assert body == {
        "measure_id": MEASURE,
        "description": "Koptelefoon bij zelfstandig werken",
        "tried_from": "2026-10-05",
        "tried_until": None,
        "observations": "Minder afgeleid.",
    }
    assert headers["Idempotency-Key"] == "k-1"


async def test_a_teacher_of_another_group_reads_why_in_Dutch_W16(
    portal: httpx.AsyncClient, case_services: FakeServices
) -> None:
    case_services.on(
        "POST",
        "trajectory",
        f"/cases/{CASE}/reflections",
        (
            403,
            {
                "detail": {
                    "rule": "W16",
                    "message": "the pupil is in groep 5, which the directory doesn't list as yours",
                }
            },
        ),
    )
    teacher = cookie(**TEACHER)
    page = await portal.post(
        f"/zaken/{CASE}/samenwerken/reflectie",
        headers=FORM,
        cookies=teacher,
        content=with_token(
            form(
                **{
                    "reflectie.measure_ids": MEASURE,
                    "reflectie.held_on": "2026-10-19",
                    "reflectie.reflection": "Helpt in de ochtend.",
                }
            ),
            teacher,
        ),
    )
    assert page.status_code == 422
    assert "niet op uw naam staat in het personeelsoverzicht" in page.text
    assert "directory" not in page.text.split("Technische melding")[0]


async def test_a_measure_dated_ahead_is_refused_at_its_field_C(
    portal: httpx.AsyncClient, case_services: FakeServices
) -> None:
    case_services.on(
        "POST",
        "trajectory",
        f"/cases/{CASE}/measures",
        (
            422,
            {
                "detail": {
                    "rule": "C",
                    "message": "a measure is recorded once it is tried",
                    "field": "tried_from",
                }
            },
        ),
    )
    teacher = cookie(**TEACHER)
    page = await portal.post(
        f"/zaken/{CASE}/samenwerken/maatregel",
        headers=FORM,
        cookies=teacher,
        content=with_token(form(**{"maatregel.tried_from": "2099-01-01"}), teacher),
    )
    assert page.status_code == 422
    assert 'id="f-maatregel-tried_from-fout"' in page.text
    assert "de startdatum ligt niet in de toekomst" in page.text


async def test_any_partner_invites_a_named_adviser_with_a_goal_C(
    portal: httpx.AsyncClient, case_services: FakeServices
) -> None:
    case_services.on(
        "POST", "trajectory", f"/cases/{CASE}/invitations", (200, {"case_id": CASE, "version": 4})
    )
    ib = cookie(**IB)
    page = await portal.get(f"/zaken/{CASE}/samenwerken", cookies=ib)
    assert "Adviseur uitnodigen voor een gesprek" in page.text
    assert "Maatregel vastleggen" not in page.text  # the teacher's part is the teacher's
    assert "Groep vastleggen" in page.text
    answer = await portal.post(
        f"/zaken/{CASE}/samenwerken/uitnodiging",
        headers=FORM,
        cookies=ib,
        content=with_token(
            form(
                **{
                    "uitnodiging.invitation_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
                    "uitnodiging.adviser_id": "os-marleen",
                    "uitnodiging.occasion": "warning_sign",
                    "uitnodiging.goal": "Samen bepalen of een andere aanpak nodig is.",
                    "uitnodiging.meeting_on": "2026-12-10",
                }
            ),
            ib,
        ),
    )
    assert answer.status_code == 303
    _, _, path, body, _ = case_services.calls[-1]
    assert path == f"/cases/{CASE}/invitations"
    assert body["adviser_id"] == "os-marleen" and body["occasion"] == "warning_sign"
    assert body["goal"] == "Samen bepalen of een andere aanpak nodig is."


async def test_a_support_worker_notes_the_group_but_records_no_measure_C(
    portal: httpx.AsyncClient, case_services: FakeServices
) -> None:
    case_services.on(
        "POST", "trajectory", f"/cases/{CASE}/group", (200, {"case_id": CASE, "version": 5})
    )
    worker = cookie(**WORKER)
    answer = await portal.post(
        f"/zaken/{CASE}/samenwerken/groep",
        headers=FORM,
        cookies=worker,
        content=with_token(form(**{"groep.group": "groep 6"}), worker),
    )
    assert answer.status_code == 303
    assert case_services.calls[-1][3] == {"group": "groep 6"}
    refused = await portal.post(
        f"/zaken/{CASE}/samenwerken/maatregel",
        headers=FORM,
        cookies=worker,
        content=with_token(form(**{"maatregel.description": "x"}), worker),
    )
    assert refused.status_code == 403
    assert "andere rol" in refused.text


async def test_the_invited_adviser_sees_the_invitation_with_goal_and_who_invited_C(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "GET",
        "trajectory",
        "/invitations",
        (
            200,
            {
                "adviser_id": "os-marleen",
                "invitations": [
                    {
                        "case_id": CASE,
                        "invitation_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
                        "goal": "Samen bepalen of een andere aanpak nodig is.",
                        "occasion": "warning_sign",
                        "meeting_on": "2026-12-10",
                        "invited_by": "lk-sanne",
                        "invited_at": "2026-12-01T10:00:00Z",
                        "case_status": "in_support",
                    }
                ],
            },
        ),
    )
    fake.on("GET", "assignment", "/directory/names", answer_names)
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    page = await portal.get("/uitnodigingen", cookies=cookie(**SPECIALIST))
    assert page.status_code == 200
    assert "Gesprek op 10 december 2026 over Noor Visser" in page.text
    assert f'href="/zaken/{CASE}/samenwerken"' in page.text
    assert "Samen bepalen of een andere aanpak nodig is." in page.text
    assert "Sanne Bakker" in page.text and "lk-sanne" not in page.text
    assert "Knipperlichtmoment" in page.text and "10 december 2026" in page.text


async def test_the_case_page_leads_partners_to_the_teachers_part(
    portal: httpx.AsyncClient, case_services: FakeServices
) -> None:
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert page.status_code == 200
    assert "Samenwerken rond de leerling" in page.text
    assert f'href="/zaken/{CASE}/samenwerken"' in page.text
    teacher_home = await portal.get("/", cookies=cookie(**TEACHER))
    assert teacher_home.headers["location"] == "/klas"


async def test_the_teacher_opens_the_schools_case_page_of_their_pupil(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """The teacher shares the school's case page with the IB (without its IB-only parts)."""
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, with_measure()))
    fake.on("GET", "assignment", "/directory/names", answer_names)
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**TEACHER))
    assert page.status_code == 200, page.text
    assert "Noor Visser" in page.text
    assert "niet bezorgd" not in page.text.lower()
