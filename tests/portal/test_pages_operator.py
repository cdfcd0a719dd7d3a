"""The operator's ("beheerder") screens: every service's dead letters per consumer with the
reason in Dutch, one with its record, replay after a fix, acknowledge with a reason."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from passend_devstack.test_tokens import issuer_key
from passend_portal.app import create_app
from tests.portal.fakes import FakeServices, cookie, settings, with_token
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OPERATOR = cookie("operator", "op-kees")
ID = "requests:passend.intake.events:2:17"


def summary(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": ID,
        "consumer": "requests",
        "group": "intake.requests",
        "topic": "passend.intake.events",
        "partition": 2,
        "offset": 17,
        "stage": "parse",
        "reason": "the record's body is not UTF-8 text (binary data or another character set)",
        "reason_code": "not-text",
        "error_type": "ValueError",
        "dead_lettered_at": "2026-12-05T09:30:00+00:00",
        "event_type": "nl.passend.intake.ConsentRequested.v1",
        "event_id": "0b7e8c1a-7d0c-4c11-9f4c-2a8e0d6c5b10",
        "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
        "swv": "swv-waterweg",
        "status": "open",
        "resolution": None,
    }
    return {**found, **changes}


def detail(**changes: Any) -> dict[str, Any]:
    record = {
        "key": "3f2c8a4e",
        "headers": {"ce_type": "nl.passend.intake.ConsentRequested.v1"},
        "value": {"format": "hex", "text": "00 9c ff 00", "cut": False},
        "size": 4,
    }
    return {**summary(**changes), "record": record}


def listing(*letters: dict[str, Any]) -> dict[str, Any]:
    return {
        "service": "intake",
        "consumers": [
            {
                "name": "requests",
                "group": "intake.requests",
                "open": sum(1 for d in letters if d["status"] == "open"),
                "dead_letters": list(letters),
            }
        ],
    }


@pytest.fixture
def desk(fake: FakeServices) -> FakeServices:
    fake.on("GET", "intake", "/operator/dead-letters", (200, listing(summary())))
    for service in ("assignment", "trajectory"):
        fake.on("GET", service, "/operator/dead-letters", (200, {"consumers": []}))
    fake.on("GET", "intake", f"/operator/dead-letters/{ID}", (200, detail()))
    fake.down.add("notifications")
    return fake


async def test_the_worklist_lists_dead_letters_per_service_and_consumer_in_dutch(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    page = await portal.get("/beheer", cookies=OPERATOR)
    assert page.status_code == 200
    assert "Verwerker <code>requests</code>" in page.text
    assert "Het bericht is geen tekst" in page.text  # the reason code, in Dutch
    assert f'href="/beheer/intake/{ID}"' in page.text
    assert "De dienst Berichten is nu niet bereikbaar" in page.text
    assert 'name="csrf_token"' in page.text  # the replay-all form
    [call] = [c for c in desk.calls if c[1] == "intake"]
    assert call[4]["authorization"] == "Bearer token-of-op-kees"


async def test_only_an_operator_sees_the_worklist(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    page = await portal.get("/beheer", cookies=cookie("education_specialist", "os-marleen"))
    assert page.status_code == 403
    assert not [c for c in desk.calls if c[2].startswith("/operator")]


async def test_a_dead_letter_shows_its_record_and_can_be_acknowledged_with_a_reason(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    page = await portal.get(f"/beheer/intake/{ID}", cookies=OPERATOR)
    assert page.status_code == 200
    assert "00 9c ff 00" in page.text and "Afhandelen zonder verwerking" in page.text
    assert page.text.count('name="csrf_token"') >= 3  # sign-out, replay, acknowledge

    empty = await portal.post(
        f"/beheer/intake/{ID}/afhandelen",
        content=with_token("reden=", OPERATOR),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert empty.status_code == 422 and "Schrijf op waarom" in empty.text
    assert not [c for c in desk.calls if c[0] == "POST"]

    acknowledged = summary(
        status="acknowledged",
        resolution={
            "resolution": "acknowledged",
            "resolved_by": "op-kees",
            "reason": "testgegevens",
            "resolved_at": "2026-12-05T10:00:00+00:00",
        },
    )
    desk.on(
        "POST",
        "intake",
        f"/operator/dead-letters/{ID}/acknowledge",
        (200, {"dead_letter": acknowledged, "recorded": True}),
    )
    done = await portal.post(
        f"/beheer/intake/{ID}/afhandelen",
        content=with_token("reden=testgegevens", OPERATOR),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/beheer/intake/{ID}?gedaan=afgehandeld"
    [post] = [c for c in desk.calls if c[0] == "POST"]
    assert post[3] == {"reason": "testgegevens"}


async def test_a_replay_that_fails_again_says_so_and_one_that_works_redirects(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    path = f"/operator/dead-letters/{ID}/replay"
    failed = {"id": ID, "outcome": "failed", "message": "still can't be read: ..."}
    desk.on("POST", "intake", path, (200, failed))
    page = await portal.post(
        f"/beheer/intake/{ID}/opnieuw",
        content=with_token("", OPERATOR),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert page.status_code == 409
    assert "Opnieuw verwerken mislukte; er is niets veranderd." in page.text

    desk.on("POST", "intake", path, (200, {"id": ID, "outcome": "applied", "message": "ok"}))
    done = await portal.post(
        f"/beheer/intake/{ID}/opnieuw",
        content=with_token("", OPERATOR),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?gedaan=applied")


async def test_replay_all_of_a_consumer_reports_the_count(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    outcomes = [{"id": ID, "outcome": "applied", "message": "ok"}]
    desk.on("POST", "intake", "/operator/dead-letters/replay", (200, {"outcomes": outcomes}))
    done = await portal.post(
        "/beheer/intake/opnieuw",
        content=with_token("verwerker=requests", OPERATOR),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert done.status_code == 303 and done.headers["location"] == "/beheer?verwerkt=1&mislukt=0"
    [call] = [c for c in desk.calls if c[0] == "POST"]
    assert call[1] == "intake"
    page = await portal.get(done.headers["location"], cookies=OPERATOR)
    assert "1 bericht(en) opnieuw verwerkt" in page.text


async def test_an_unknown_service_is_a_404_page(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    page = await portal.get(f"/beheer/elders/{ID}", cookies=OPERATOR)
    assert page.status_code == 404


async def test_the_beheerder_persona_signs_in_as_operator_and_lands_on_the_worklist(
    desk: FakeServices,
) -> None:
    app = create_app(settings(issuer_key().pem_path.parent), transport=desk.transport())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        page = await client.get("/aanmelden")
        assert "Kees (beheerder van Passend)" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed_in = await client.post(
            "/aanmelden",
            content=f"persona=beheerder&csrf_token={token.group(1)}",
            headers=FORM,
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/beheer"
        worklist = await client.get("/beheer")
        assert worklist.status_code == 200 and "Beheerder van Passend" in worklist.text


async def test_the_dead_letter_screens_show_names_and_dutch_event_names(
    portal: httpx.AsyncClient, desk: FakeServices
) -> None:
    """Issue 19: the event by its Dutch name, who handled it by name, the case by its short
    number; the technical values stay, marked as such (``lang="en"``) for the helpdesk."""
    resolution = {
        "resolution": "acknowledged",
        "resolved_by": "op-kees",
        "reason": "testgegevens",
        "resolved_at": "2026-12-05T10:00:00+00:00",
    }
    handled = summary(status="acknowledged", resolution=resolution)
    desk.on("GET", "intake", "/operator/dead-letters", (200, listing(summary(), handled)))
    desk.on(
        "GET",
        "intake",
        f"/operator/dead-letters/{ID}",
        (200, detail(status="acknowledged", resolution=resolution)),
    )
    for path in ("/beheer", f"/beheer/intake/{ID}"):
        page = await portal.get(path, cookies=OPERATOR)
        text = screen_text(page.text)
        assert faults(text) == [], path
        assert "Toestemming gevraagd" in text and "door Kees Willems" in text
    assert "casus 3f2c8a4e" in text
    assert '<code lang="en">nl.passend.intake.ConsentRequested.v1</code>' in page.text
