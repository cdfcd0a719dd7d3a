"""The privacy officer's screens: what an erasure does, granting it, the second officer."""

from __future__ import annotations

import httpx
import pytest

from tests.portal.fakes import CASE, FakeServices, cookie, with_token

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OFFICER = {"role": "privacy_officer", "subject": "fg-yvonne"}
REQUEST_ID = "0d7f7c1e-3a55-4f7e-9a0b-6c1d2e3f4a5b"

PREVIEW = {
    "pupil_ref": "leerling-042",
    "erased": False,
    "erased_at": None,
    "cases": [
        {
            "case_id": CASE,
            "school_id": "brin-11aa",
            "submitted_at": "2026-09-14T08:30:00+00:00",
            "status": "in_trajectory",
            "on_erasure": "withdrawn",
        }
    ],
    "will_erase": ["pupil_identity", "parent_contacts", "personal_links"],
    "kept": [{"item": "case_history", "legal_basis": "AVG art. 5 lid 2"}],
    "needs_second_officer": True,
    "requests": [],
}
PENDING = {
    "request_id": REQUEST_ID,
    "pupil_ref": "leerling-042",
    "requested_by": "De moeder, per brief",
    "received_on": "2026-12-02",
    "grounds": "AVG art. 17 lid 1 sub b",
    "decided_by": "fg-yvonne",
    "decided_at": "2026-12-04T10:00:00+00:00",
    "needs_confirmation": True,
    "confirmed_by": None,
    "rejected_by": None,
    "rejection_reason": None,
    "status": "awaiting_confirmation",
}


async def test_the_officer_sees_what_an_erasure_does_in_dutch(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/privacy/pupils/leerling-042", (200, PREVIEW))
    page = await portal.get("/privacy/leerling?ref=leerling-042", cookies=cookie(**OFFICER))
    assert page.status_code == 200, page.text
    text = page.text
    assert "Wordt ingetrokken: het traject stopt bij elke dienst" in text
    assert "naam en geboortedatum van de leerling" in text
    assert "Grond: AVG art. 5 lid 2" in text
    assert "De Havenmeester" in text  # the school's name, not its id
    assert "brin-11aa" not in text
    assert "wordt pas gewist als een collega het bevestigt" in text


async def test_a_number_two_schools_use_asks_which_school(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """Schools number their own pupils: the officer picks the school, by its name."""
    refusal = {"rule": "pupil_reference_ambiguous", "message": "the reference names pupils"}
    fake.on("GET", "intake", "/privacy/pupils/12345", (409, refusal))
    named = {
        "pupils": [
            {
                "pupil_ref": "lln-0193a2c4e5f6",
                "school_id": "brin-11aa",
                "school_pupil_ref": "12345",
            },
            {
                "pupil_ref": "lln-8e21d07fa3b4",
                "school_id": "brin-12bb",
                "school_pupil_ref": "12345",
            },
        ]
    }
    fake.on("GET", "intake", "/privacy/pupils", (200, named))
    fake.on("GET", "intake", "/privacy/erasure-requests", (200, {"requests": []}))
    page = await portal.get("/privacy/leerling?ref=12345", cookies=cookie(**OFFICER))
    assert page.status_code == 200, page.text
    assert "Welke school bedoelt u?" in page.text
    assert "hoort bij een leerling van 2 scholen" in page.text
    assert "Basisschool De Havenmeester" in page.text
    assert "Daltonschool Het Visserspad" in page.text
    assert 'href="/privacy/leerling?ref=lln-8e21d07fa3b4"' in page.text
    asked = [c for c in fake.calls if c[2] == "/privacy/pupils"]
    assert len(asked) == 1


async def test_granting_sends_who_asked_when_and_why(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/privacy/pupils/leerling-042", (200, PREVIEW))
    fake.on("POST", "intake", "/privacy/pupils/leerling-042/erasure", (200, PENDING))
    officer = cookie(**OFFICER)
    body = "gevraagd_door=De+moeder%2C+per+brief&ontvangen=2026-12-02&grond=AVG+art.+17&sleutel=k1"
    page = await portal.post(
        "/privacy/leerling/leerling-042/wissen",
        content=with_token(body, officer),
        headers=FORM,
        cookies=officer,
    )
    assert page.status_code == 303
    assert page.headers["location"].endswith("gedaan=wacht")
    method, service, path, sent, headers = fake.calls[-1]
    assert (method, service, path) == ("POST", "intake", "/privacy/pupils/leerling-042/erasure")
    assert sent == {
        "requested_by": "De moeder, per brief",
        "received_on": "2026-12-02",
        "grounds": "AVG art. 17",
    }
    assert headers["Idempotency-Key"] == "k1"


async def test_the_same_officer_confirming_gets_a_plain_message(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", "/privacy/erasure-requests", (200, {"requests": [PENDING]}))
    refusal = {"detail": {"rule": "erasure_second_officer", "message": "a second officer"}}
    fake.on(
        "POST", "intake", f"/privacy/erasure-requests/{REQUEST_ID}/confirmation", (403, refusal)
    )
    officer = cookie(**OFFICER)
    home = await portal.get("/privacy", cookies=officer)
    assert "De moeder, per brief" in home.text and "Bevestigen en wissen" in home.text
    page = await portal.post(
        f"/privacy/verzoeken/{REQUEST_ID}/bevestigen",
        content=with_token("", officer),
        headers=FORM,
        cookies=officer,
    )
    assert page.status_code == 403
    assert "Een andere functionaris moet dit verzoek bevestigen" in page.text


async def test_other_roles_do_not_get_the_privacy_desk(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    page = await portal.get(
        "/privacy", cookies=cookie(role="ib", subject="ib-marieke", school_id="brin-11aa")
    )
    assert page.status_code == 403
    assert "Deze pagina is voor een andere rol" in page.text
    assert not [c for c in fake.calls if c[2].startswith("/privacy")]  # intake never asked


async def test_the_access_export_downloads_with_every_services_events(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    part = {
        "pupil_ref": "leerling-042",
        "erased": False,
        "identity": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [{"parent_ref": "ouder-1", "name": "M. Visser", "email": "m@x.nl"}],
        },
        "cases": PREVIEW["cases"],
        "pupil_events": [],
    }
    fake.on("GET", "intake", "/privacy/pupils/leerling-042/export", (200, part))
    event = {
        "kind": "event",
        "service": "assignment",
        "event_id": "e1",
        "event_type": "nl.passend.assignment.CaseClaimed.v1",
        "stream_version": 3,
        "position": 7,
        "occurred_at": "2026-09-15T09:00:00+00:00",
        "recorded_at": "2026-09-15T09:00:00+00:00",
        "actor": "ow-anouk",
        "on_behalf_of": None,
        "correlation_id": "c1",
        "causation_id": "x",
        "description": "Casus opgepakt door ondersteuner ow-anouk",
    }
    fake.on(
        "GET", "assignment", f"/audit/cases/{CASE}/events", (200, {"events": [event], "reads": []})
    )
    officer = cookie(**OFFICER)
    page = await portal.get("/privacy/leerling/leerling-042/inzage.json", cookies=officer)
    assert page.status_code == 200, page.text
    assert "attachment" in page.headers["content-disposition"]
    export = page.json()
    assert export["identity"]["name"] == "Noor Visser"
    assert [e["event_id"] for e in export["cases"][0]["entries"]] == ["e1"]
    asked = [c for c in fake.calls if c[2] == f"/audit/cases/{CASE}/events"]
    assert {c[1] for c in asked} == {"intake", "assignment", "trajectory", "notifications"}
    html = await portal.get("/privacy/leerling/leerling-042/inzage.html", cookies=officer)
    assert "Noor Visser" in html.text and "Casus opgepakt" in html.text


async def test_after_the_erasure_the_page_says_what_was_erased_not_what_will_be(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    erased = {**PREVIEW, "erased": True, "erased_at": "2026-12-05T05:52:00+00:00"}
    fake.on("GET", "intake", "/privacy/pupils/leerling-042", (200, erased))
    page = await portal.get("/privacy/leerling?ref=leerling-042", cookies=cookie(**OFFICER))
    assert page.status_code == 200, page.text
    assert "Deze leerling is gewist op 5 december 2026" in page.text
    assert "Wat er gewist is" in page.text
    assert "Bij wissen" not in page.text and "Wordt ingetrokken" not in page.text
    assert "Toekennen en wissen" not in page.text
