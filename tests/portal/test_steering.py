"""The coordinator's overview as a steering tool: filters, over-capacity, CSV (W24, W26)."""

from __future__ import annotations

import csv
import io
from datetime import date

import httpx

from passend_portal import steering
from passend_portal.steering import Filters
from tests.portal.fakes import FakeServices, cookie

COORDINATOR = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
CASE_1 = "11111111-1111-4111-8111-111111111111"
CASE_2 = "22222222-2222-4222-8222-222222222222"


def load(worker: str, cases: int, weekly: float, unit: str = "wu-vlaardingen") -> dict[str, object]:
    taken = cases * 2.0
    return {
        "worker_id": worker,
        "work_unit_id": unit,
        "open_cases": cases,
        "weekly_case_hours": weekly,
        "hours_taken": taken,
        "hours_free": max(0.0, weekly - taken),
        "hours_over": max(0.0, taken - weekly),
        "over_capacity": taken > weekly,
    }


def deadline(case: str, worker: str, school: str, due: str, missed: bool) -> dict[str, object]:
    return {
        "case_id": case,
        "school_id": school,
        "ib_id": "ib-marieke",
        "receiving_worker_id": worker,
        "responsible_worker_id": worker,
        "work_unit_id": "wu-vlaardingen",
        "need_areas": [],
        "submitted_at": "2026-11-20T09:00:00+00:00",
        "routed_at": None,
        "offered_to": None,
        "claimed_by": worker,
        "specialist_required": False,
        "contact_due_on": due,
        "contact_due_at": None,
        "deadline_missed": missed,
        "time_left": None,
    }


LOADS = [load("ow-anouk", 27, 20), load("ow-bart", 3, 20)]
DEADLINES = [
    deadline(CASE_1, "ow-anouk", "brin-11aa", "2026-11-27", True),
    deadline(CASE_2, "ow-bart", "brin-22bb", "2026-12-10", False),
]
LEAD = {
    "swv": "swv-waterweg",
    "submitted": 2,
    "claimed": 2,
    "contacted": 0,
    "deadlines_missed": 1,
    "claim_avg_hours": 5.5,
    "claim_median_hours": 4.0,
    "contact_avg_hours": None,
    "contact_median_hours": None,
}


def evaluation(case: str, day: str, school: str = "brin-11aa") -> dict[str, str]:
    return {"case_id": case, "school_id": school, "kind": "plan", "due_on": day, "status": "due"}


PHASES = {
    "trajectories": 3,
    "phases": [
        {"phase": "to_start_conversation", "cases": 3, "avg_days": 4.5, "median_days": 4.0},
        {"phase": "to_plan", "cases": 2, "avg_days": 12.25, "median_days": 12.25},
        {"phase": "to_support", "cases": 0, "avg_days": None, "median_days": None},
    ],
}


def serve(fake: FakeServices) -> None:
    fake.on("GET", "trajectory", "/lead-times", (200, PHASES))
    fake.on("GET", "assignment", "/lead-times", (200, LEAD))
    fake.on("GET", "assignment", "/caseloads", (200, LOADS))
    fake.on("GET", "assignment", "/deadlines", (200, DEADLINES))
    for worker, case, day, school in (
        ("ow-anouk", CASE_1, "2026-12-01", "brin-11aa"),
        ("ow-bart", CASE_2, "2027-01-10", "brin-22bb"),
    ):
        fake.on(
            "GET",
            "trajectory",
            f"/workers/{worker}/evaluations-due",
            (200, {"evaluations": [evaluation(case, day, school)]}),
        )


def test_filters_read_the_form_and_say_what_they_could_not_read() -> None:
    filters, problems = Filters.of({"medewerker": "ow-anouk", "van": "2026-12-01", "tot": "morgen"})
    assert filters.worker == "ow-anouk" and filters.since == date(2026, 12, 1)
    assert filters.until is None
    assert problems == ["Tot en met: geen geldige datum ('morgen'), gebruik jjjj-mm-dd."]
    swapped, problems = Filters.of({"van": "2026-12-31", "tot": "2026-12-01"})
    assert (swapped.since, swapped.until) == (date(2026, 12, 1), date(2026, 12, 31))
    assert problems and "omgedraaid" in problems[0]


def test_filters_narrow_caseloads_deadlines_and_evaluations() -> None:
    filters, _ = Filters.of({"school": "brin-22bb", "van": "2026-12-01"})
    assert [d["case_id"] for d in filters.deadlines(DEADLINES)] == [CASE_2]
    assert filters.caseloads(LOADS) == LOADS  # a school does not narrow the workers
    by_worker, _ = Filters.of({"medewerker": "ow-bart"})
    assert [w["worker_id"] for w in by_worker.caseloads(LOADS)] == ["ow-bart"]
    evaluations = [{"worker_id": "ow-anouk", "due_on": "2026-11-01"}]
    assert filters.evaluations(evaluations, {"ow-anouk": "wu-vlaardingen"}) == []
    assert Filters().evaluations(evaluations, {}) == evaluations


def test_over_capacity_lists_the_most_overloaded_first_W24() -> None:
    loads = [load("ow-a", 11, 20), load("ow-b", 3, 20), load("ow-c", 27, 20)]
    assert [w["worker_id"] for w in steering.over_capacity(loads)] == ["ow-c", "ow-a"]


def test_the_csv_is_what_a_dutch_spreadsheet_opens() -> None:
    rows = steering.caseload_rows([load("ow-anouk", 3, 17.5)], lambda i: "Anouk Jansen", str)
    text = steering.as_csv(rows)
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert parsed[0][0] == "Onderwijsondersteuner"
    assert parsed[1] == ["Anouk Jansen", "wu-vlaardingen", "3", "6", "17,5", "11,5", "nee"]


async def test_the_coordinator_sees_who_has_more_cases_than_hours_W24(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    page = (await portal.get("/overzicht", cookies=cookie(**COORDINATOR))).text
    assert 'data-testid="overbelast"' in page
    assert "27 casussen vragen 54 uur per week" in page and "34 uur te veel" in page
    assert page.count("overbelast</strong>") == 1


async def test_filters_narrow_the_page_and_the_csv_to_the_same_rows_W26(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    page = (await portal.get("/overzicht?medewerker=ow-bart", cookies=cookie(**COORDINATOR))).text
    assert f"Casus {CASE_2[:8]}" in page and f"Casus {CASE_1[:8]}" not in page
    assert 'href="/overzicht/termijnen.csv?medewerker=ow-bart"' in page
    assert "Alle filters wissen" in page
    answer = await portal.get(
        "/overzicht/termijnen.csv?medewerker=ow-bart", cookies=cookie(**COORDINATOR)
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="overzicht-termijnen.csv"'
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == [
        "Casus",
        "School",
        "Onderwijsondersteuner",
        "Eerste contact uiterlijk",
        "Stand",
    ]
    assert len(rows) == 2 and rows[1][0] == CASE_2[:8]
    assert rows[1][3] == "10 december 2026" and rows[1][4] == "loopt"
    # Names, never ids: the directory's names replace the codes.
    assert "ow-bart" not in answer.text and "brin-22bb" not in answer.text


async def test_a_period_the_portal_cannot_read_is_said_in_dutch(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    answer = await portal.get("/overzicht?van=gisteren", cookies=cookie(**COORDINATOR))
    assert answer.status_code == 200
    assert "Vanaf: geen geldige datum" in answer.text


async def test_an_unknown_table_is_not_found_and_other_roles_are_refused(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    missing = await portal.get("/overzicht/geheim.csv", cookies=cookie(**COORDINATOR))
    assert missing.status_code == 404
    ib = {"role": "ib", "subject": "ib-marieke", "school_id": "brin-11aa"}
    refused = await portal.get("/overzicht/caseload.csv", cookies=cookie(**ib))
    assert refused.status_code in (302, 303, 403)


async def test_the_coordinator_sees_days_per_phase_after_the_first_contact_W21(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    asked: list[dict[str, str]] = []

    def phases(request: httpx.Request) -> tuple[int, dict[str, object]]:
        asked.append(dict(request.url.params))
        return 200, PHASES

    fake.on("GET", "trajectory", "/lead-times", phases)
    page = (
        await portal.get(
            "/overzicht?medewerker=ow-bart&van=2026-09-01", cookies=cookie(**COORDINATOR)
        )
    ).text
    assert asked == [{"worker_id": "ow-bart", "since": "2026-09-01"}]
    assert "Van startgesprek tot plan" in page and "12,25 dagen" in page
    assert "over 3 trajecten die bij de filters passen" in page
    answer = await portal.get("/overzicht/doorlooptijden.csv", cookies=cookie(**COORDINATOR))
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Fase", "Trajecten", "Gemiddeld (dagen)", "Mediaan (dagen)"]
    assert rows[1] == ["Van eerste contact tot startgesprek", "3", "4,5", "4"]
    assert rows[3] == ["Van plan tot start begeleiding", "0", "–", "–"]


async def test_without_trajectory_the_overview_says_the_phases_follow_later(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    fake.down.add("trajectory")
    page = await portal.get("/overzicht", cookies=cookie(**COORDINATOR))
    assert page.status_code == 200
    assert "De dienst Trajecten is nu niet bereikbaar" in page.text


# --- The municipality (issue 19): the school's, as the directory registers it ---------------

# The dev directory: brin-11aa, -12bb, -13cc in Vlaardingen (GM0622), brin-21dd and -22ee in
# Schiedam (GM0606), brin-31ff in Maassluis (GM0556).
PLACES = {"brin-11aa": "GM0622", "brin-12bb": "GM0622", "brin-22bb": "GM0606"}


def test_the_municipality_filter_reads_a_cbs_code_and_says_what_it_could_not_read() -> None:
    filters, problems = Filters.of({"gemeente": " gm0622 "})
    assert (filters.municipality, filters.municipality_name, problems) == (
        "GM0622",
        "Vlaardingen",
        [],
    )
    assert filters.active and filters.query() == "gemeente=GM0622"
    unknown, problems = Filters.of({"gemeente": "Vlaardingen"})
    assert unknown.municipality == "" and problems and problems[0].startswith("Gemeente:")


def test_the_municipality_narrows_deadlines_evaluations_and_the_schools_per_phase() -> None:
    filters, _ = Filters.of({"gemeente": "GM0622"})
    assert [d["case_id"] for d in filters.deadlines(DEADLINES, PLACES)] == [CASE_1]
    evaluations = [evaluation(CASE_1, "2026-12-01"), evaluation(CASE_2, "2027-01-10", "brin-22bb")]
    assert [e["case_id"] for e in filters.evaluations(evaluations, {}, PLACES)] == [CASE_1]
    assert filters.caseloads(LOADS) == LOADS  # a municipality does not narrow the workers
    assert filters.schools(PLACES) == ["brin-11aa", "brin-12bb"]
    both, _ = Filters.of({"gemeente": "GM0622", "school": "brin-22bb"})
    assert both.deadlines(DEADLINES, PLACES) == [] and both.schools(PLACES) == []
    assert Filters().schools(PLACES) is None  # every school: not narrowed
    assert steering.municipality_choices(PLACES) == [
        ("Schiedam", "GM0606"),
        ("Vlaardingen", "GM0622"),
    ]


async def test_the_coordinator_filters_by_municipality_on_screen_and_in_the_csv(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    asked: list[list[tuple[str, str]]] = []

    def phases(request: httpx.Request) -> tuple[int, dict[str, object]]:
        asked.append(sorted(request.url.params.multi_items()))
        return 200, PHASES

    fake.on("GET", "trajectory", "/lead-times", phases)
    page = await portal.get("/overzicht?gemeente=GM0622", cookies=cookie(**COORDINATOR))
    assert page.status_code == 200
    text = page.text
    # The choice shows the municipality's name; the municipalities of the SWV's schools.
    assert '<label for="f-gemeente">Gemeente</label>' in text
    assert '<option value="GM0622" selected>Vlaardingen</option>' in text
    assert ">Schiedam</option>" in text and ">Maassluis</option>" in text
    # Deadlines and evaluations of Vlaardingen's schools only; the phases of those schools.
    assert f"Casus {CASE_1[:8]}" in text and f"Casus {CASE_2[:8]}" not in text
    assert asked == [
        [("school_id", "brin-11aa"), ("school_id", "brin-12bb"), ("school_id", "brin-13cc")]
    ]
    assert 'href="/overzicht/termijnen.csv?gemeente=GM0622"' in text
    for table, case in (("termijnen", CASE_1), ("evaluaties", CASE_1)):
        answer = await portal.get(
            f"/overzicht/{table}.csv?gemeente=GM0622", cookies=cookie(**COORDINATOR)
        )
        rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";"))
        assert [r[0] for r in rows[1:]] == [case[:8]], table
    schiedam = await portal.get(
        "/overzicht/termijnen.csv?gemeente=GM0606", cookies=cookie(**COORDINATOR)
    )
    assert len(list(csv.reader(io.StringIO(schiedam.text.lstrip("\ufeff"))))) == 1  # header


async def test_a_municipality_without_schools_of_the_swv_shows_no_cases(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    serve(fake)
    page = await portal.get("/overzicht?gemeente=GM0363", cookies=cookie(**COORDINATOR))
    assert page.status_code == 200
    assert '<option value="GM0363" selected>Amsterdam</option>' in page.text
    assert "over 0 trajecten die bij de filters passen" in page.text
    assert "Geen open termijnen die bij de filters passen" in page.text
    assert not [c for c in fake.calls if c[1] == "trajectory" and c[2] == "/lead-times"]
