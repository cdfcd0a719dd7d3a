"""Rule tags on screen become "waarom?" links to the agreement, said in one sentence."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from passend_portal import agreements
from tests.portal.fakes import FakeServices, cookie

TEMPLATES = Path(agreements.__file__).parent / "templates"
pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")


def test_a_tag_in_a_hint_becomes_a_link_and_the_rest_stays_escaped() -> None:
    shown = agreements.explained("Binnen vijf werkdagen <b>echt</b> (W25, W26).")
    assert shown == (
        'Binnen vijf werkdagen &lt;b&gt;echt&lt;/b&gt; (<a class="waarom" '
        'href="/afspraken#w25">waarom?</a>).'
    )


def test_inside_a_link_the_tag_is_left_out() -> None:
    assert agreements.untagged("Al opgepakt door een collega (W25).") == (
        "Al opgepakt door een collega."
    )


def test_an_unknown_tag_gives_no_link_rather_than_a_dead_one() -> None:
    unknown = "W" + "99"  # no rule has this tag (written apart: it cites no rule)
    assert agreements.why(unknown) == ""
    assert agreements.explained(f"Iets ({unknown}).") == "Iets."


def test_every_tag_the_screens_use_has_its_agreement() -> None:
    used: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for call in re.findall(r"waarom\(([^)]*)\)", text):
            used.update(re.findall(r"\"([A-Z]+\d*)\"", call))
        for hint in re.findall(r'hint="([^"]*)"', text):
            used.update(re.findall(r"\bW\d+\b", hint))
    assert used, "the screens link to agreements"
    assert used <= set(agreements.AGREEMENTS), used - set(agreements.AGREEMENTS)


async def test_the_agreements_page_says_each_rule_in_a_sentence(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    page = await portal.get("/afspraken")
    assert page.status_code == 200
    assert '<dt id="w26">Afspraak 26</dt>' in page.text
    assert "binnen een werkweek (vijf werkdagen) contact op" in page.text
    # The school's care levels (S) and the route (R) carry no number: named by subject.
    assert '<dt id="s">Zorgniveaus en OPP</dt>' in page.text
    assert '<dt id="r">De ondersteuningsroute en de regie</dt>' in page.text


async def test_signed_in_the_agreements_page_keeps_the_menu_and_the_way_back(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    page = await portal.get(
        "/afspraken", cookies=cookie("support_worker", "ow-anouk", work_unit_id="wu-vlaardingen")
    )
    assert page.status_code == 200
    assert '<a href="/werk" >Mijn werk</a>' in page.text
    assert 'action="/afmelden"' in page.text
    portal.cookies.clear()  # and signed out, the page is the same without the menu
    anonymous = await portal.get("/afspraken")
    assert "Mijn werk" not in anonymous.text
