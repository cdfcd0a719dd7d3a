"""W24: the suggestions fragment names the requested expertise areas in Dutch and gives
every colleague a plain Dutch reason (expertise, the school, hours free), in the order of
assignment's ranking, with no ids, English codes or rule tags on screen."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, load_directory_file
from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.ranking import rank
from passend_assignment.schemas import SuggestionOut
from passend_portal import labels
from tests.portal.fakes import CASE, WORKER, FakeServices, cookie
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def answer(
    areas: list[str], school: str, open_cases: dict[str, int], hours_per_case: float
) -> list[dict[str, Any]]:
    """Assignment's answer for the Vlaardingen work unit of the dev directory, built by
    its own ranking and answer model, as ``GET /cases/{id}/suggestions`` sends it."""
    directory = fold(configure(DirectoryState(), load_directory_file(DEV_FILE)[0], NOW))
    ranked = rank(directory.members_of("wu-vlaardingen"), areas, school, open_cases, hours_per_case)
    return [SuggestionOut.of(s).model_dump(mode="json") for s in ranked]


async def shown(portal: httpx.AsyncClient, fake: FakeServices, ranked: Any) -> str:
    fake.on("GET", "assignment", f"/cases/{CASE}/suggestions", (200, ranked))
    page = await portal.get(f"/zaken/{CASE}/suggesties", cookies=cookie(**WORKER))
    assert page.status_code == 200
    # What a person reads; a name is bold, so the reader has a space before its colon.
    return screen_text(page.text).replace(" :", ":")


async def test_w24_requested_areas_and_reasons_in_dutch_in_the_ranked_order(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """Issue 19's case at De Havenmeester: reading, maths and behaviour requested; Chantal
    (none of them, knows the school, most hours free) comes last."""
    ranked = answer(
        ["reading", "maths", "behaviour"],
        "brin-11aa",
        {"ow-anouk": 7, "ow-bart": 6},
        hours_per_case=1.5,
    )
    text = await shown(portal, fake, ranked)
    assert "Gevraagde expertise: Lezen en spelling, Rekenen, Gedrag." in text
    anouk = (
        "Anouk Jansen: heeft 1 van 3 gevraagde expertises: lezen en spelling "
        "(niet: rekenen, gedrag); kent de school; 9,5 uur per week vrij"
    )
    bart = (
        "Bart van Leeuwen: heeft 1 van 3 gevraagde expertises: gedrag "
        "(niet: lezen en spelling, rekenen); kent de school nog niet; 7 uur per week vrij"
    )
    chantal = (
        "Chantal Visser: heeft geen van de 3 gevraagde expertises; kent de school; "
        "12 uur per week vrij"
    )
    assert anouk in text and bart in text and chantal in text
    assert text.index(anouk) < text.index(bart) < text.index(chantal)
    assert "Waarom deze volgorde?" in text
    assert faults(text) == []
    assert not re.search(r"\bW\d+\b", text), "no rule tags, only the sentence"
    for english in ("has ", "lacks", "hours", "knows", "requested", "areas", "%"):
        assert english not in text


async def test_w24_one_requested_area_a_full_week_and_no_hours_read_plainly(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    ranked = answer(["social_emotional"], "brin-13cc", {"ow-anouk": 10, "ow-chantal": 2}, 2.0)
    by_worker = {s["worker_id"]: s for s in ranked}
    assert by_worker["ow-anouk"]["hours_free"] == 0.0
    text = await shown(portal, fake, ranked)
    assert "Gevraagde expertise: Sociaal-emotionele ontwikkeling." in text
    assert (
        "Chantal Visser: heeft de gevraagde expertise (sociaal-emotionele ontwikkeling); "
        "kent de school nog niet; 8 uur per week vrij"
    ) in text
    assert (
        "Anouk Jansen: heeft de gevraagde expertise niet (sociaal-emotionele "
        "ontwikkeling); kent de school nog niet; geen uur vrij (alle 20 uur per week bezet)"
    ) in text
    assert faults(text) == []


async def test_w24_no_area_recognised_says_so(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    text = await shown(portal, fake, answer([], "brin-12bb", {}, 2.0))
    assert "Gevraagde expertise: geen expertise herkend in de hulpvraag." in text
    assert "Bart van Leeuwen: kent de school; 16 uur per week vrij" in text
    assert faults(text) == []


def test_w24_the_reason_keeps_an_acronym_and_names_the_swv_own_areas() -> None:
    suggestion = {
        "requested_areas": ["executive", "language"],
        "has_areas": ["executive", "language"],
        "lacks_areas": [],
        "knows_school": False,
        "weekly_case_hours": 0,
        "hours_free": 0,
    }
    own = {"executive": "ADHD en concentratie", "language": "NT2"}
    assert labels.suggestion_reason(suggestion, own.__getitem__) == (
        "heeft 2 van 2 gevraagde expertises: ADHD en concentratie, NT2; "
        "kent de school nog niet; geen uren voor casuswerk"
    )
