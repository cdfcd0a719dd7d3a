"""The school sees its pupil's whole story, and Team NO what it needs to decide (issue 19):
the IB's case page as a timeline of every step with who and when, in Dutch; Team NO's
agenda item with the case's context."""

from __future__ import annotations

import re

import httpx
import pytest

from passend_portal import story
from tests.portal.fakes import (
    CASE,
    IB,
    REQUEST_DETAIL,
    TEAM_NO,
    FakeServices,
    cookie,
    trajectory,
)
from tests.portal.test_names_on_screen import everything, faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")


def timeline(page: str) -> str:
    """The screen text of the page's timeline ("Het verloop") only."""
    found = re.search(
        r'<ol class="tijdlijn" data-testid="verloop">(.*?)</ol>\s*</section>', page, re.S
    )
    assert found, "the page has a timeline"
    return screen_text(found.group(1))


async def test_the_ib_sees_sessions_evaluations_care_level_escalation_and_decision(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert page.status_code == 200
    story_text = timeline(page.text)
    # Who and when, by name and Dutch date.
    assert "14 september 2026, 10:30 – Aanvraag ingediend, gericht aan Anouk Jansen" in story_text
    assert "door Marieke de Vries" in story_text
    assert "Toestemming gevraagd (persoonlijke link)" in story_text
    assert "Toestemming gegeven door een ouder (via de persoonlijke link)" in story_text
    assert "Doorgestuurd naar de onderwijsondersteuner Anouk Jansen" in story_text
    assert "Opgepakt door Anouk Jansen" in story_text
    assert "Eerste contact met de school door Anouk Jansen" in story_text
    assert (
        "Startgesprek gevoerd door Anouk Jansen, met Anouk Jansen, Marieke de Vries" in story_text
    )
    assert "Plan vastgelegd door Anouk Jansen" in story_text and "Doel: Leest AVI E4" in story_text
    # Sessions: the day and the hours (Dutch comma), not the worker's own notes (W23).
    assert "28 september 2026 – Sessie van 0,02 uur door Anouk Jansen" in story_text
    assert "Goed gewerkt" not in page.text
    assert "Signaal aan de school: de aanpak in de klas" in story_text
    assert "Signaal gelezen door Marieke de Vries" in story_text
    # W29: the route coach's call is a step with who and when, not only a count.
    assert (
        "5 oktober 2026, 14:15 – Routebegeleider Jeroen Bos ingeschakeld door Marieke de Vries"
        in story_text
    )
    # Evaluations with their outcome and the goals' results.
    assert "Evaluatie, uitkomst: zorgniveau wijzigen door Anouk Jansen" in story_text
    assert "Leest AVI E4: Leest AVI E3" in story_text
    assert "Evaluatie, uitkomst: aanmelden bij Team NO (de route loopt vast)" in story_text
    # S: the care level in words, on the timeline and in the state of affairs.
    assert "Zorgniveau vastgesteld op 2" in story_text
    assert "Zorgniveau van 2 naar 3" in story_text
    assert "zorgniveau 2: extra zorg in de groep (basisondersteuning)" in story_text
    assert re.search(r'data-testid="zorgniveau">Zorgniveau 3: speciale zorg', page.text)
    assert "Ontwikkelingsperspectief (OPP) opgesteld door Marieke de Vries" in story_text
    assert "Casusregisseur: de onderwijsspecialist Anouk Jansen" in story_text
    # R: the escalation and Team NO's decision, with who decided.
    assert "Aangemeld bij Team NO Waterweg door Anouk Jansen" in story_text
    assert "Waarom de route vastloopt: wachtlijst" in story_text
    assert "Conceptplan: Overbrugging op school" in story_text
    assert "20 november 2026, 11:00 – Besluit van Team NO door Wendy Hoogendoorn" in story_text
    assert "Besluit: Plaatsing met begeleiding" in story_text
    assert "Uitvoering door: Zorgaanbieder De Haven" in story_text
    assert re.search(r'data-testid="team-no">besloten op 20 november 2026', page.text)
    # Youth care is noted, its reason is the family's and the wijkteam's.
    assert "Jeugdhulp betrokken" in story_text and "Zorgen thuis" not in page.text
    # In order: request before claim before sessions before the decision.
    order = [
        story_text.index(s)
        for s in ("Aanvraag ingediend", "Opgepakt", "Sessie van", "Besluit van Team NO")
    ]
    assert order == sorted(order)
    assert faults(story_text) == []


async def test_the_story_is_read_from_the_services_logged_reads(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """The page adds no read of its own: the services log the three reads it makes."""
    everything(fake)
    await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    reads = {(c[1], c[2]) for c in fake.calls if c[0] == "GET"}
    assert ("intake", f"/requests/{CASE}") in reads
    assert ("assignment", f"/cases/{CASE}") in reads
    assert ("trajectory", f"/cases/{CASE}/trajectory") in reads


async def test_after_a_refusal_of_consent_the_page_says_what_happens_next_W10(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    refused = {
        **REQUEST_DETAIL,
        "consent": {
            **REQUEST_DETAIL["consent"],
            "status": "refused",
            "method": "start_conversation",
            "answered_at": "2026-09-16T10:00:00Z",
        },
        "history": [
            *REQUEST_DETAIL["history"],
            {
                "version": 2,
                "event_type": "nl.passend.intake.ConsentRefused.v1",
                "occurred_at": "2026-09-16T10:00:00Z",
                "actor": "ib-marieke",
                "data": {"refused_by": "ouder-1", "method": "start_conversation"},
            },
        ],
    }
    fake.on("GET", "intake", f"/requests/{CASE}", (200, refused))
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert page.status_code == 200
    next_step = re.search(r'data-testid="toestemming-wat-nu"><p>(.*?)</p>', page.text, re.S)
    assert next_step is not None
    assert "Wat nu? Zonder toestemming van de ouders begeleidt de onderwijsondersteuner" in (
        next_step.group(1)
    )
    assert "opnieuw om toestemming vragen" in next_step.group(1)
    assert "leerkracht of de groep ondersteunen" in next_step.group(1)
    story_text = timeline(page.text)
    assert (
        "Toestemming geweigerd (in het startgesprek), vastgelegd door Marieke de Vries"
        in story_text
    )
    assert "niet individueel" in story_text
    assert faults(screen_text(page.text)) == []


async def test_without_refusal_there_is_no_next_step_sentence(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert 'data-testid="toestemming-wat-nu"' not in page.text


async def test_the_team_no_agenda_item_shows_what_is_needed_to_decide_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    page = await portal.get("/team-no", cookies=cookie(**TEAM_NO))
    assert page.status_code == 200
    item = re.search(
        r'<article class="kaart"[^>]*data-testid="agendapunt">(.*?)</article>', page.text, re.S
    )
    assert item is not None
    text = screen_text(item.group(1))
    assert "Basisschool De Havenmeester" in text  # the school by name
    assert re.search(r"Leerling \d+ jaar, groep 5b", text)  # age and group
    assert "Wat de leerling nodig heeft Leest traag." in text
    assert "Al geprobeerd in de basisondersteuning Extra leesbeurten." in text
    assert "Waarom de school vastloopt Geen groei." in text
    assert "Leest AVI E4 (gemeten met AVI-toets, uiterlijk 1 december 2026)" in text
    assert "Leesangst naast een zwakke decodeervaardigheid (Marleen Dekker" in text
    assert "De aanpak in de klas (1 oktober 2026): Instructie te lang – nog niet gelezen" in text
    assert "Geen leesgroep – gelezen, reactie: Start in januari" in text
    assert "10 oktober 2026: Zorgniveau wijzigen (naar zorgniveau 2) – Meer hulp" in text
    assert "Aanmelden bij Team NO (de route loopt vast) – Geen plek voor overbruggingszorg" in text
    assert "Wachtlijst, Geen overbruggingszorg" in text and "Overbrugging op school" in text
    assert "door Anouk Jansen" in text
    # Minimised: the situation, not the pupil's name, birth date or parents.
    assert "Noor Visser" not in page.text and "2017" not in text and "M. Visser" not in page.text
    assert faults(text) == []
    # Each case's request and trajectory are read from the services (which log the reads).
    reads = {(c[1], c[2]) for c in fake.calls if c[0] == "GET"}
    assert ("intake", f"/requests/{CASE}") in reads
    assert ("trajectory", f"/cases/{CASE}/trajectory") in reads


async def test_team_nos_case_page_shows_the_same_context_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    page = await portal.get(f"/team-no/zaken/{CASE}", cookies=cookie(**TEAM_NO))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert "Waarom de school vastloopt Geen groei." in text
    assert "Leesangst naast een zwakke decodeervaardigheid" in text
    assert "Basisschool De Havenmeester" in text and "groep 5b" in text
    trajectory_reads = [c for c in fake.calls if c[2] == f"/cases/{CASE}/trajectory"]
    assert len(trajectory_reads) == 1, "the trajectory is read once for the page"


async def test_an_agenda_item_without_the_request_still_shows_the_rest_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    fake.on("GET", "intake", f"/requests/{CASE}", (404, {"detail": {"message": "no such case"}}))
    page = await portal.get("/team-no", cookies=cookie(**TEAM_NO))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert "De aanvraag van de school is nu niet te lezen." in text
    assert "leeftijd onbekend, groep 5b" in text
    assert "Basisschool De Havenmeester" in text  # from the trajectory
    assert "Overbrugging op school" in text


def test_the_story_puts_steps_in_order_and_a_days_step_in_the_process_order() -> None:
    """A session known by its day (recorded on a later day) comes before the closing at
    10:00 that day: within a day, the process's order (sessions before closing), not the
    day's noon."""
    steps = story.of(
        {
            **REQUEST_DETAIL,
            "history": [
                {
                    "version": 1,
                    "event_type": "nl.passend.intake.RequestSubmitted.v1",
                    "occurred_at": "2026-09-14T08:30:00Z",
                    "actor": "ib-marieke",
                    "data": {},
                }
            ],
        },
        None,
        trajectory(
            sessions=[
                {"held_on": "2026-09-28", "hours": 1.5, "worker_id": "ow-anouk", "findings": "x"}
            ],
            closed={"closed_by": "ow-anouk", "closed_at": "2026-09-28T08:00:00+00:00"},
        ),
    )
    assert [s.what for s in steps] == [
        "Aanvraag ingediend, gericht aan",
        "Sessie van 1,5 uur",
        "Traject afgesloten",  # 10:00 in Amsterdam, after that day's session
    ]
    assert steps[0].whom == "ow-anouk" and steps[1].day_only
    assert all("x" not in s.lines for s in steps)


def test_care_levels_are_told_in_the_schools_words_S() -> None:
    assert story.care_level(3).startswith("zorgniveau 3: speciale zorg")
    assert story.care_level(4).endswith("(speciale ondersteuning)")


def test_a_mornings_start_conversation_comes_before_that_days_plan_W15() -> None:
    """Issue 19: a step known by its day only (the start conversation's ``held_on``) keeps
    the process's order within that day: recorded at 09:45, it came before the plan
    recorded at 10:30, not at the day's noon after it."""
    steps = story.of(
        None,
        None,
        trajectory(
            start_conversation={
                "held_on": "2026-09-21",
                "sharpened_question": "Hoe leert Noor weer met plezier lezen?",
                "participants": ["ow-anouk", "ib-marieke"],
                "recorded_by": "ow-anouk",
                "recorded_at": "2026-09-21T07:45:00+00:00",
            },
            plans=[
                {
                    "revision": 1,
                    "recorded_by": "ow-anouk",
                    "recorded_at": "2026-09-21T08:30:00+00:00",
                    "goals": [],
                }
            ],
        ),
    )
    assert [s.what for s in steps] == ["Startgesprek gevoerd", "Plan vastgelegd"]


def test_steps_of_a_day_recorded_later_keep_the_process_order_among_that_days_steps() -> None:
    """Issue 19: a start conversation held on the 21st but recorded on the 22nd comes
    before that day's specialist analysis at 09:00 (the process: conversation, then
    analysis); a session of the 23rd recorded on the 24th comes after the support started
    at 16:00 that day and before a signal at 17:00; an OPP drawn up on a day without other
    steps takes that day's place."""
    steps = story.of(
        None,
        None,
        trajectory(
            start_conversation={
                "held_on": "2026-09-21",
                "sharpened_question": "Hoe leert Noor weer met plezier lezen?",
                "participants": [],
                "recorded_by": "ow-anouk",
                "recorded_at": "2026-09-22T07:00:00+00:00",
            },
            specialist_analysis={
                "specialist_id": "os-marleen",
                "analysis": "Leesangst",
                "recorded_at": "2026-09-21T07:00:00+00:00",
            },
            support={"started_by": "ow-anouk", "started_at": "2026-09-23T14:00:00+00:00"},
            sessions=[
                {
                    "held_on": "2026-09-23",
                    "hours": 1,
                    "worker_id": "ow-anouk",
                    "recorded_at": "2026-09-24T08:00:00+00:00",
                }
            ],
            signals=[
                {
                    "raised": {
                        "about": "school_offer",
                        "description": "Geen leesgroep",
                        "raised_at": "2026-09-23T15:00:00+00:00",
                        "raised_by": "ow-anouk",
                    },
                    "acknowledged": None,
                }
            ],
            opp={"drawn_up_on": "2026-09-22", "recorded_by": "ib-marieke"},
        ),
    )
    assert [s.kind for s in steps] == [
        "startgesprek",  # the 21st, recorded the day after
        "analyse",  # the 21st, 09:00
        "opp",  # the 22nd
        "begeleiding",  # the 23rd, 16:00
        "sessie",  # the 23rd, recorded the day after
        "signaal",  # the 23rd, 17:00
    ]


def test_a_route_coach_call_without_a_named_coach_still_says_who_and_when_W29() -> None:
    case = {
        "route_coach_history": [
            {
                "called_by": "ow-anouk",
                "side": "support",
                "called_at": "2026-10-05T12:15:00Z",
                "route_coach_id": None,
            }
        ]
    }
    [call] = story.of(None, case, None)
    assert (call.what, call.whom, call.after_whom) == ("Routebegeleider ingeschakeld", None, "")
    assert (call.who, call.at, call.kind) == ("ow-anouk", "2026-10-05T12:15:00Z", "routebegeleider")


def test_a_parent_who_took_part_is_named_never_by_the_schools_reference() -> None:
    request = {
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "parent_refs": ["ouder-1"],
        "pupil": {"parents": [{"parent_ref": "ouder-1", "name": "M. Visser"}]},
    }
    trajectory = {
        "evaluations": [
            {
                "evaluation_id": "e-1",
                "participants": ["ow-anouk", "ouder-1"],
                "outcome": "continue",
                "recorded_at": "2026-11-02T10:00:00+00:00",
                "goal_results": [],
            }
        ]
    }
    people = [s.people for s in story.of(request, None, trajectory) if s.people]
    assert people == [("ow-anouk", "ouder/verzorger M. Visser")]
    erased = {**request, "pupil": {"erased": True}}
    people = [s.people for s in story.of(erased, None, trajectory) if s.people]
    assert people == [("ow-anouk", "ouder/verzorger")]
