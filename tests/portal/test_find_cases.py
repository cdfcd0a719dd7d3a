"""Finding every case (issue 19): "Mijn casussen" of every worker, the search box by short
number, whole number, pupil reference or (for the roles shown it) the pupil's name, and the
auditor's lookup that matches nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from passend_portal import finding, worklist
from tests.portal.fakes import (
    ASSIGNMENT_CASE,
    CASE,
    IB,
    TEAM_NO,
    WORKER,
    FakeServices,
    cookie,
    found_requests,
    summary,
    with_token,
)
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OTHER = "9a1b2c3d-0000-4e6f-a7c5-2d8b0e4f6a99"
AUDITOR = {"role": "auditor", "subject": "auditor-1"}
SPECIALIST = {"role": "education_specialist", "subject": "os-marleen"}
COORDINATOR = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
ROUTE_COACH = {"role": "route_coach", "subject": "rb-jeroen"}


def board_row(case_id: str = CASE, **changes: Any) -> dict[str, Any]:
    """A case as assignment's board lists it (inbox, a worker's cases, deadlines)."""
    row = {
        **ASSIGNMENT_CASE,
        "case_id": case_id,
        "routed_at": "2026-09-14T08:30:01Z",
        "time_left": {"seconds": 100, "working_days": 3, "lapsed": False},
    }
    row.update(changes)
    return row


def worker_services(fake: FakeServices) -> dict[str, bool]:
    """Assignment and intake for Anouk: one request for her; claiming it makes it hers."""
    state = {"claimed": False}

    def claim(_: httpx.Request) -> tuple[int, Any]:
        state["claimed"] = True
        return 200, {"case_id": CASE, "version": 3, "events": []}

    def mine(_: httpx.Request) -> tuple[int, Any]:
        claimed = board_row(claimed_by="ow-anouk", claimed_at="2026-09-15T09:00:00Z")
        return 200, [claimed] if state["claimed"] else []

    def inbox(_: httpx.Request) -> tuple[int, Any]:
        return 200, [] if state["claimed"] else [board_row()]

    def requests(request: httpx.Request) -> tuple[int, Any]:
        status = "claimed" if state["claimed"] else "submitted"
        return found_requests([summary(status=status)])(request)

    fake.on("POST", "assignment", f"/cases/{CASE}/claim", claim)
    fake.on("GET", "assignment", "/workers/ow-anouk/cases", mine)
    fake.on("GET", "assignment", "/workers/ow-anouk/inbox", inbox)
    fake.on("GET", "assignment", "/work-units/wu-vlaardingen/queue", (200, []))
    fake.on("GET", "assignment", "/deadlines", (200, [board_row()]))
    fake.on("GET", "intake", "/requests", requests)
    return state


async def test_a_claimed_case_appears_in_my_cases_with_pupil_school_and_dutch_stand_W25(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    worker_services(fake)
    before = screen_text((await portal.get("/werk/casussen", cookies=cookie(**WORKER))).text)
    assert "U heeft nu geen opgepakte casussen." in before
    assert "Aan mij aangeboden" in before and "Casus 3f2c8a4e" in before

    claimed = await portal.post(
        f"/zaken/{CASE}/oppakken",
        content=with_token("key=k", cookie(**WORKER)),
        headers=FORM,
        cookies=cookie(**WORKER),
    )
    assert claimed.status_code == 303

    page = await portal.get("/werk/casussen", cookies=cookie(**WORKER))
    assert page.status_code == 200
    text = screen_text(page.text)
    mine = text.split("Opgepakt door mij", 1)[1].split("Aan mij aangeboden", 1)[0]
    assert "Casus 3f2c8a4e" in mine and "leerling-042" in mine
    assert "Basisschool De Havenmeester" in mine
    assert "Opgepakt, wacht op het eerste contact met de school" in mine
    assert "Eerste contact met de school: 21 september 2026" in mine
    assert "Er zijn geen aanvragen aan u aangeboden die nog wachten." in text
    assert f'href="/zaken/{CASE}"' in page.text
    assert faults(text) == []
    # The start page shows it too, and leads to the whole list.
    home = await portal.get("/werk", cookies=cookie(**WORKER))
    start = screen_text(home.text).split("Mijn casussen", 1)[1]
    assert "Casus 3f2c8a4e" in start and "Basisschool De Havenmeester" in start
    assert 'href="/werk/casussen"' in home.text


async def test_my_cases_name_the_next_deadline_an_evaluation_or_the_first_contact_W21(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    contacted = board_row(claimed_by="ow-anouk")
    fake.on("GET", "assignment", "/workers/ow-anouk/cases", (200, [contacted]))
    fake.on("GET", "assignment", "/workers/ow-anouk/inbox", (200, []))
    fake.on("GET", "assignment", "/deadlines", (200, []))
    fake.on("GET", "intake", "/requests", found_requests([summary(status="in_trajectory")]))
    evaluations = [
        {"case_id": CASE, "kind": "plan", "due_on": "2026-12-15", "status": "upcoming"},
        {"case_id": CASE, "kind": "opp", "due_on": "2026-11-01", "status": "overdue"},
    ]
    fake.on(
        "GET",
        "trajectory",
        "/workers/ow-anouk/evaluations-due",
        (200, {"evaluations": evaluations}),
    )
    text = screen_text((await portal.get("/werk/casussen", cookies=cookie(**WORKER))).text)
    assert "Traject loopt" in text
    assert "Evaluatie van het OPP: 1 november 2026 – verlopen" in text
    asked = [c for c in fake.calls if c[1] == "intake" and c[2] == "/requests"]
    assert asked, "the pupil references come from intake in one call"


@pytest.mark.parametrize("who", [WORKER, SPECIALIST, COORDINATOR], ids=lambda w: w["role"])
async def test_every_worker_has_my_cases_in_the_menu(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str]
) -> None:
    page = await portal.get("/werk/casussen", cookies=cookie(**who))
    assert page.status_code == 200
    assert 'href="/werk/casussen" aria-current="page"' in page.text
    none_yet = (
        "U bent nu bij geen enkele casus de onderwijsspecialist."
        if who["role"] == "education_specialist"
        else "U heeft nu geen opgepakte casussen."
    )
    assert none_yet in page.text


async def test_my_cases_say_which_service_is_away(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.down.add("assignment")
    page = await portal.get("/werk/casussen", cookies=cookie(**WORKER))
    assert page.status_code == 200
    assert "De dienst Toewijzing is nu niet bereikbaar" in page.text


@pytest.mark.parametrize(
    "typed",
    [
        "3f2c8a4e",
        " 3F2C8A4E ",
        "Casus 3f2c8a4e",
        CASE,
        CASE.upper(),
        "leerling-042",
        "LEERLING-042",
    ],
)
async def test_the_search_box_finds_a_case_by_short_number_whole_number_or_pupil(
    portal: httpx.AsyncClient, fake: FakeServices, typed: str
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([summary()]))
    found = await portal.get(f"/zoeken?q={quote(typed)}", cookies=cookie(**WORKER))
    assert found.status_code == 303, found.text[:500]
    assert found.headers["location"] == f"/zaken/{CASE}"


async def test_casus_openen_and_a_short_number_in_the_address_resolve(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([summary()]))
    opened = await portal.get("/zaken?casus=3f2c8a4e", cookies=cookie(**IB))
    assert (opened.status_code, opened.headers["location"]) == (303, f"/zaken/{CASE}")
    short = await portal.get("/zaken/3f2c8a4e", cookies=cookie(**IB))
    assert short.status_code == 303
    resolved = await portal.get(short.headers["location"], cookies=cookie(**IB))
    assert resolved.headers["location"] == f"/zaken/{CASE}"


async def test_no_match_says_so_in_dutch_never_a_404(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([summary()]))
    for path in ("/zoeken?q=abcdef12", "/zaken?casus=abcdef12", f"/zoeken?q={OTHER}"):
        page = await portal.get(path, cookies=cookie(**WORKER))
        assert page.status_code == 200, path
        text = screen_text(page.text)
        shown = "abcdef12" if "abcdef12" in path else OTHER[:8]
        assert f"Geen casus gevonden met „{shown}”" in text, text
        assert faults(text) == []


async def test_another_tenants_or_schools_case_is_not_found(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    # Intake answers only the requests within the caller's reach (its own test shows that
    # against the running service): the portal shows nothing else.
    fake.on("GET", "intake", "/requests", found_requests([]))
    page = await portal.get("/zoeken?q=3f2c8a4e", cookies=cookie(**IB))
    assert page.status_code == 200
    assert "Geen casus gevonden met „3f2c8a4e”" in page.text
    sent = next(c for c in fake.calls if c[1] == "intake" and c[2] == "/requests")
    assert sent[4]["authorization"] == "Bearer token-of-ib-marieke"


async def test_several_matches_are_listed_to_choose_from(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    rows = [summary(), summary(case_id=OTHER, status="withdrawn")]
    fake.on("GET", "intake", "/requests", found_requests(rows))
    page = await portal.get("/zoeken?q=leerling-042", cookies=cookie(**WORKER))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert "2 casussen gevonden" in text and "Ingetrokken" in text
    assert f'href="/zaken/{OTHER}"' in page.text and "Basisschool De Havenmeester" in text
    assert faults(text) == []


def named_requests(rows: list[dict[str, Any]]) -> Any:
    """``GET /requests?find=…`` as intake answers a search by the pupil's name: the rows in
    reach whose ``pupil_name`` holds the text (intake's own test covers the matching)."""

    def answer(request: httpx.Request) -> tuple[int, Any]:
        find = request.url.params.get("find", "").casefold()
        return 200, [r for r in rows if find and find in (r.get("pupil_name") or "").casefold()]

    return answer


async def test_a_search_by_the_pupils_name_lists_the_names_to_choose_from(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    rows = [
        summary(pupil_name="Sem de Boer", pupil_ref="leerling-301"),
        summary(case_id=OTHER, pupil_name="Semih Yılmaz", pupil_ref="leerling-302"),
    ]
    fake.on("GET", "intake", "/requests", named_requests(rows))
    page = await portal.get("/zoeken?q=sem", cookies=cookie(**IB))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert "2 casussen gevonden met „sem”" in text
    found = text.split("casussen gevonden", 1)[1]
    assert "Naam" in found and "Sem de Boer" in found and "Semih Yılmaz" in found
    assert "leerling-301" in found and "Basisschool De Havenmeester" in found
    assert f'href="/zaken/{OTHER}"' in page.text
    assert faults(text) == []
    # One pupil with that name: straight to the case.
    one = await portal.get("/zoeken?q=de%20boer", cookies=cookie(**IB))
    assert (one.status_code, one.headers["location"]) == (303, f"/zaken/{CASE}")


async def test_the_search_box_offers_the_name_only_to_roles_shown_the_name(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([]))
    for who in (IB, WORKER, COORDINATOR, SPECIALIST, ROUTE_COACH):
        page = await portal.get("/zoeken?q=Sem", cookies=cookie(**who))
        assert "Zoek een casus op nummer of leerlingnummer, of op de naam" in page.text, who
        assert "Casusnummer, leerlingnummer of naam" in screen_text(page.text), who
        assert "Controleer het nummer of de naam." in screen_text(page.text), who
    for who in (AUDITOR, TEAM_NO):
        page = await portal.get("/zoeken?q=Sem", cookies=cookie(**who))
        assert "of op de naam" not in page.text, who
        assert "Casusnummer, leerlingnummer of naam" not in page.text, who
        assert "Controleer het nummer." in screen_text(page.text), who


async def test_the_search_box_is_in_the_header_of_staff_not_of_others(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    for who in (WORKER, IB, TEAM_NO, AUDITOR, SPECIALIST, COORDINATOR, ROUTE_COACH):
        page = await portal.get("/zoeken", cookies=cookie(**who))
        assert page.status_code == 200, who
        assert 'action="/zoeken"' in page.text and 'role="search"' in page.text
    operator = {"role": "operator", "subject": "op-1"}
    refused = await portal.get("/zoeken?q=3f2c8a4e", cookies=cookie(**operator))
    assert refused.status_code == 403
    assert 'id="kop-zoek"' not in refused.text


async def test_a_route_coach_finds_a_case_called_into_by_the_pupils_name_W29(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    # Intake answers the cases the coach was called into (its reach); the portal opens one.
    rows = [summary(pupil_name="Daan Mulder", pupil_ref="leerling-308")]
    fake.on("GET", "intake", "/requests", named_requests(rows))
    fake.on("GET", "trajectory", "/invitations", (200, {"invitations": []}))
    start = await portal.get("/uitnodigingen", cookies=cookie(**ROUTE_COACH))
    assert 'id="kop-zoek"' in start.text
    found = await portal.get("/zoeken?q=daan", cookies=cookie(**ROUTE_COACH))
    assert (found.status_code, found.headers["location"]) == (303, f"/zaken/{CASE}")
    sent = next(c for c in fake.calls if c[1] == "intake" and c[2] == "/requests")
    assert sent[4]["authorization"] == "Bearer token-of-rb-jeroen"


async def test_a_route_coachs_start_page_lists_the_cases_called_into_W29(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    def called_in(request: httpx.Request) -> tuple[int, Any]:
        assert request.url.params.get("called_in") == "true"
        return 200, [summary(status="claimed")]

    fake.on("GET", "intake", "/requests", called_in)
    fake.on("GET", "trajectory", "/invitations", (200, {"invitations": []}))
    page = await portal.get("/uitnodigingen", cookies=cookie(**ROUTE_COACH))
    assert page.status_code == 200
    text = screen_text(page.text)
    listed = text.split("Casussen waarvoor u bent ingeschakeld", 1)[1]
    assert "Casus 3f2c8a4e" in listed and "Basisschool De Havenmeester" in listed
    assert f'href="/zaken/{CASE}"' in page.text
    assert faults(text) == []
    # Intake away: the invitations still show, the list says why it is missing.
    fake.down.add("intake")
    away = screen_text((await portal.get("/uitnodigingen", cookies=cookie(**ROUTE_COACH))).text)
    assert "De dienst Aanvragen en toestemming is nu niet bereikbaar" in away
    # Someone never called into a case is not shown the list.
    fake.down.discard("intake")
    other = await portal.get("/uitnodigingen", cookies=cookie(**SPECIALIST))
    assert "Casussen waarvoor u bent ingeschakeld" not in other.text


async def test_intake_away_is_named_not_a_crash(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.down.add("intake")
    page = await portal.get("/zoeken?q=3f2c8a4e", cookies=cookie(**WORKER))
    assert page.status_code == 200
    assert "De dienst Aanvragen en toestemming is nu niet bereikbaar" in page.text


async def test_team_no_lands_on_its_own_case_page(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([summary()]))
    found = await portal.get("/zoeken?q=3f2c8a4e", cookies=cookie(**TEAM_NO))
    assert found.headers["location"] == f"/zaken/{CASE}"
    page = await portal.get(found.headers["location"], cookies=cookie(**TEAM_NO))
    assert page.headers["location"] == f"/team-no/zaken/{CASE}"


async def test_the_auditor_finds_by_short_number_and_then_says_why(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([summary()]))
    found = await portal.get("/zoeken?q=3f2c8a4e", cookies=cookie(**AUDITOR))
    assert found.headers["location"] == "/audit?casus=3f2c8a4e"
    form = await portal.get(found.headers["location"], cookies=cookie(**AUDITOR))
    assert 'value="3f2c8a4e"' in form.text
    opened = await portal.get("/audit/zaken?casus=3f2c8a4e&doel=klacht", cookies=cookie(**AUDITOR))
    assert opened.status_code == 303
    assert opened.headers["location"].startswith(f"/audit/zaken/{CASE}?doel=klacht")


@pytest.mark.parametrize("number", ["abcdef12", OTHER])
async def test_the_auditors_lookup_that_matches_nothing_says_so_plainly(
    portal: httpx.AsyncClient, fake: FakeServices, number: str
) -> None:
    fake.on("GET", "intake", "/requests", found_requests([summary()]))
    for service in ("intake", "assignment", "trajectory", "notifications"):
        fake.on("GET", service, f"/audit/cases/{OTHER}/events", (200, {"events": [], "reads": []}))
    page = await portal.get(f"/audit/zaken?casus={number}&doel=klacht", cookies=cookie(**AUDITOR))
    if page.status_code == 303:  # a whole number goes straight to its timeline
        page = await portal.get(page.headers["location"], cookies=cookie(**AUDITOR))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert f"Geen casus gevonden met nummer „{number[:8]}”" in text, text
    assert "Geen gebeurtenissen gevonden" not in text and "keer ingezien" not in text
    assert 'value="klacht"' in page.text  # the purpose stays filled in for another try
    assert faults(text) == []


async def test_team_nos_page_takes_the_short_number_too(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    short = await portal.get("/team-no/zaken/3f2c8a4e", cookies=cookie(**TEAM_NO))
    assert short.status_code == 303 and short.headers["location"] == "/zoeken?q=3f2c8a4e"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("  3f2c8a4e ", "3f2c8a4e"), ("Casus 3f2c8a4e", "3f2c8a4e"), ("#3f2c8a4e", "3f2c8a4e")],
)
def test_what_was_typed_is_read_as_a_number(typed: str, meant: str) -> None:
    assert finding.cleaned(typed) == meant
    assert finding.is_case_id(CASE.upper()) and not finding.is_case_id("3f2c8a4e")


def test_my_cases_put_the_soonest_deadline_first_and_overdue_ones_say_so_W21_W26() -> None:
    later = board_row(OTHER, claimed_by="ow-anouk", contact_due_on="2026-10-01")
    sooner = board_row(claimed_by="ow-anouk", deadline_missed=True)
    no_deadline = board_row("11111111-2222-4333-8444-555555555555", claimed_by="ow-anouk")
    mine = worklist.build(
        claimed=[no_deadline, later, sooner],
        offered=[],
        waiting=[later, sooner],
        evaluations=[],
        requests={CASE: summary(status="claimed")},
    )
    assert [c.case_id for c in mine.claimed] == [CASE, OTHER, no_deadline["case_id"]]
    first = mine.claimed[0]
    assert first.deadline == worklist.Deadline("2026-09-21", worklist.FIRST_CONTACT, True)
    assert first.pupil_ref == "leerling-042" and first.short == "3f2c8a4e"
    assert mine.claimed[2].deadline is None
    assert mine.claimed[2].status == "Opgepakt door een onderwijsondersteuner"
    assert mine.count == 3


async def test_the_specialists_cases_are_named_as_hers_as_specialist_not_as_claimed_W14(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    # Assignment lists the open cases a specialist is the education specialist of; she
    # never claims one herself (Anouk did).
    claimed_by_anouk = board_row(claimed_by="ow-anouk", claimed_at="2026-09-15T09:00:00Z")
    fake.on("GET", "assignment", "/workers/os-marleen/cases", (200, [claimed_by_anouk]))
    fake.on("GET", "assignment", "/workers/os-marleen/inbox", (200, []))
    fake.on("GET", "assignment", "/deadlines", (200, []))
    fake.on("GET", "intake", "/requests", found_requests([summary(status="claimed")]))
    for path in ("/werk", "/werk/casussen"):
        page = await portal.get(path, cookies=cookie(**SPECIALIST))
        assert page.status_code == 200, path
        text = screen_text(page.text)
        assert "Complexe casussen waarvan u de onderwijsspecialist bent" in text, path
        assert "die u heeft opgepakt" not in text, path
        assert "Casus 3f2c8a4e" in text and "leerling-042" in text, path
        assert faults(text) == [], path
