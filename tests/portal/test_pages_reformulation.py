"""W6, W7 (issue 19): the request is reformulated jointly after the start conversation,
in the portal: a form on the case page of the IB and of the support worker, prefilled with
the whole current text; who agreed and why; refused in Dutch before the claim; afterwards
the case page shows the new text and the school's timeline the step, with who agreed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.portal.fakes import (
    ASSIGNMENT_CASE,
    CASE,
    IB,
    REQUEST_DETAIL,
    WORKER,
    FakeServices,
    cookie,
    trajectory,
    with_token,
)
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CLAIMED = {**ASSIGNMENT_CASE, "claimed_by": "ow-anouk", "claimed_at": "2026-09-15T09:00:00Z"}
CLAIMED_REQUEST = {
    **REQUEST_DETAIL,
    "status": "claimed",
    "progress": {"claimed_by": "ow-anouk", "claimed_at": "2026-09-15T09:00:00Z"},
}
NEW_TEXT = {
    "hulpvraag.levels": ["pupil", "teacher"],
    "hulpvraag.educational_need": "Voorspelbare overgangen tussen de lessen.",
    "hulpvraag.tried_in_basic_support": "Extra leesbeurten.",
    "hulpvraag.why_stuck": "De leerkracht mist een aanpak voor de overgangen.",
    "hulpvraag.agreed_by": ["ib:ib-marieke", "support_worker:ow-anouk"],
    "hulpvraag.reason": "In het startgesprek bleek de vraag achter de vraag.",
    "hulpvraag.key": "h-1",
}
REFORMULATED: dict[str, Any] = {
    "version": 2,
    "event_type": "nl.passend.intake.RequestReformulated.v1",
    "occurred_at": "2026-09-22T10:00:00Z",
    "actor": "ow-anouk",
    "data": {
        "case_id": CASE,
        "previous": {
            "levels": ["pupil"],
            "educational_need": "Leest traag.",
            "tried_in_basic_support": "Extra leesbeurten.",
            "why_stuck": "Geen groei.",
        },
        "current": {
            "levels": ["pupil", "teacher"],
            "educational_need": "Voorspelbare overgangen tussen de lessen.",
            "tried_in_basic_support": "Extra leesbeurten.",
            "why_stuck": "De leerkracht mist een aanpak voor de overgangen.",
        },
        "agreed_by": [
            {"role": "ib", "party_id": "ib-marieke"},
            {"role": "support_worker", "party_id": "ow-anouk"},
        ],
        "reason": "In het startgesprek bleek de vraag achter de vraag.",
        "reformulated_at": "2026-09-22T10:00:00Z",
    },
}


def case_answers(
    fake: FakeServices, request: dict[str, Any], case: dict[str, Any] | None = None
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, request))
    fake.on("GET", "assignment", f"/cases/{CASE}", (200, case or CLAIMED))
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, trajectory()))
    fake.on("GET", "notifications", f"/cases/{CASE}/notifications", (200, {"messages": []}))


async def reformulate(
    portal: httpx.AsyncClient, who: dict[str, str], fields: dict[str, Any]
) -> httpx.Response:
    cookies = cookie(**who)
    body = str(httpx.QueryParams(fields))
    return await portal.post(
        f"/zaken/{CASE}/hulpvraag",
        content=with_token(body, cookies),
        headers=FORM,
        cookies=cookies,
    )


@pytest.mark.parametrize("who", [IB, WORKER], ids=["ib", "onderwijsondersteuner"])
async def test_the_form_is_prefilled_with_the_whole_current_text_W6_W7(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str]
) -> None:
    case_answers(fake, CLAIMED_REQUEST)
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**who))
    assert page.status_code == 200
    assert f'action="/zaken/{CASE}/hulpvraag"' in page.text
    assert "Hulpvraag samen herschrijven" in page.text
    form = page.text.split(f'action="/zaken/{CASE}/hulpvraag"')[1].split("</form>")[0]
    assert 'name="csrf_token"' in form
    assert ">Leest traag.</textarea>" in form and ">Geen groei.</textarea>" in form
    assert 'value="pupil" checked' in form and 'value="teacher">' in form
    # Who agreed: the IB and the worker who claimed the case, by name, both ticked.
    assert 'value="ib:ib-marieke" checked' in form
    assert 'value="support_worker:ow-anouk" checked' in form
    text = screen_text(page.text)
    assert "Marieke" in text and "Anouk" in text
    assert faults(text) == []


async def test_a_saved_reformulation_is_sent_whole_and_confirmed_W7(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "POST",
        "intake",
        f"/requests/{CASE}/reformulations",
        (201, {"case_id": CASE, "event_type": REFORMULATED["event_type"], "version": 2}),
    )
    done = await reformulate(portal, WORKER, NEW_TEXT)
    assert done.status_code == 303
    assert done.headers["location"] == f"/zaken/{CASE}?wacht=intake:2&gedaan=hulpvraag#hulpvraag"
    [call] = [c for c in fake.calls if c[0] == "POST"]
    assert call[2] == f"/requests/{CASE}/reformulations"
    assert call[3] == {
        "levels": ["pupil", "teacher"],
        "educational_need": "Voorspelbare overgangen tussen de lessen.",
        "tried_in_basic_support": "Extra leesbeurten.",
        "why_stuck": "De leerkracht mist een aanpak voor de overgangen.",
        "agreed_by": [
            {"role": "ib", "party_id": "ib-marieke"},
            {"role": "support_worker", "party_id": "ow-anouk"},
        ],
        "reason": "In het startgesprek bleek de vraag achter de vraag.",
    }
    assert call[4]["authorization"] == "Bearer token-of-ow-anouk"
    assert call[4]["idempotency-key"] == "h-1"


async def test_after_saving_the_case_page_and_the_timeline_show_the_new_request(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    current = REFORMULATED["data"]["current"]
    after = {
        **CLAIMED_REQUEST,
        **current,
        "history": [*REQUEST_DETAIL["history"], REFORMULATED],
    }
    case_answers(fake, after)
    page = await portal.get(f"/zaken/{CASE}?gedaan=hulpvraag", cookies=cookie(**IB))
    text = screen_text(page.text)
    assert "De hulpvraag is herschreven. De vorige tekst blijft bewaard in het verloop." in text
    assert "Wat de leerling nodig heeft Voorspelbare overgangen tussen de lessen." in text
    assert "Gaat over Leerling, Leerkracht" in text
    assert "De hulpvraag is herschreven op" in text
    timeline = page.text.split('data-testid="verloop"')[1].split("</ol>")[0]
    step = screen_text(timeline.split('data-soort="aanvraag"')[2])
    assert "22 september 2026, 12:00 – Hulpvraag herschreven door Anouk Jansen" in step
    assert "met Marieke de Vries, Anouk Jansen" in step  # who agreed (W7)
    assert "Gaat nu over: leerling, leerkracht" in step
    assert "Waarom: In het startgesprek bleek de vraag achter de vraag." in step
    assert faults(text) == []


async def test_before_the_claim_the_form_is_not_offered_and_a_post_is_refused_in_dutch_W6(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, REQUEST_DETAIL, ASSIGNMENT_CASE)
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert f'action="/zaken/{CASE}/hulpvraag"' not in page.text
    assert "Dat kan zodra een onderwijsondersteuner de aanvraag heeft opgepakt." in page.text

    refusal = {
        "rule": "W6",
        "message": "a request is reformulated after the start conversation, and nobody has "
        "claimed this one yet: wait for the claim and the start conversation",
    }
    fake.on("POST", "intake", f"/requests/{CASE}/reformulations", (409, {"detail": refusal}))
    refused = await reformulate(portal, IB, NEW_TEXT)
    assert refused.status_code == 422
    text = screen_text(refused.text)
    assert "Deze aanvraag is nog niet opgepakt door een onderwijsondersteuner" in text
    assert faults(text) == []


async def test_a_reformulation_not_agreed_jointly_is_refused_at_the_field_W7(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, CLAIMED_REQUEST)
    refusal = {
        "rule": "W7",
        "message": "a reformulation is agreed jointly: name the IB or teacher and the support "
        "worker in agreed_by",
        "field": "agreed_by",
    }
    fake.on("POST", "intake", f"/requests/{CASE}/reformulations", (422, {"detail": refusal}))
    alone = {**NEW_TEXT, "hulpvraag.agreed_by": ["ib:ib-marieke"]}
    refused = await reformulate(portal, IB, alone)
    assert refused.status_code == 422
    assert "kies de intern begeleider of de leerkracht, én de onderwijsondersteuner" in (
        refused.text
    )
    form = refused.text.split(f'action="/zaken/{CASE}/hulpvraag"')[1].split("</form>")[0]
    # What was typed stays; the form is open at the refusal.
    assert "Voorspelbare overgangen tussen de lessen.</textarea>" in form
    assert 'value="ib:ib-marieke" checked' in form
    assert 'value="support_worker:ow-anouk">' in form
    assert "<details open>" in refused.text.split('id="hulpvraag"')[1]


async def test_only_the_ib_and_the_support_worker_reformulate(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, CLAIMED_REQUEST)
    specialist = {"role": "education_specialist", "subject": "os-marleen"}
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**specialist))
    assert f'action="/zaken/{CASE}/hulpvraag"' not in page.text
    refused = await reformulate(portal, specialist, NEW_TEXT)
    assert refused.status_code == 403
    assert not [c for c in fake.calls if c[0] == "POST"]
