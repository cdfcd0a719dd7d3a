"""W10: the parent's withdrawal page, and e-mails that did not arrive, in plain Dutch, on screen.

The IB's case page says which e-mail to a parent did not arrive and why, and offers the
fallback: the link itself, to hand over. The coordinator's overview lists every message
that did not arrive, without addresses.
"""

from __future__ import annotations

import httpx
import pytest

from tests.portal.fakes import CASE, IB, REQUEST_DETAIL, FakeServices, cookie, with_token

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN = "w" * 43


def link_view(purpose: str) -> dict[str, object]:
    return {
        "state": "open",
        "purpose": purpose,
        "expires_at": "2027-03-01T08:35:00Z",
        "question": "Wilt u uw toestemming intrekken?",
        "school_name": "De Havenmeester",
        "child_first_name": "Noor",
        "support": "individuele begeleiding van uw kind",
    }


def parked(template: str, reason_code: str, status: str = "parked") -> dict[str, object]:
    return {
        "message_id": "0b7e2a4c-1111-4e6f-a7c5-2d8b0e4f6a13",
        "channel": "email",
        "recipient_role": "parents",
        "recipient_id": "ouder-1",
        "template": template,
        "caused_by_event": None,
        "status": status,
        "attempts": 1,
        "possible_duplicate": False,
        "last_reason": "the request gives no e-mail address",
        "reason_code": reason_code,
        "next_attempt_at": None,
        "scheduled_at": "2026-10-01T10:00:00Z",
        "sent_at": None,
        "status_at": "2026-10-01T10:00:01Z",
    }


async def test_w10_the_parent_withdraws_through_the_link_naming_school_and_child(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/consent/{TOKEN}", (200, link_view("withdrawal")))
    fake.on("POST", "intake", f"/consent/{TOKEN}/withdraw", (201, {"case_id": CASE}))
    page = await portal.get(f"/toestemming/{TOKEN}")
    assert page.status_code == 200
    assert "De Havenmeester" in page.text and "Noor" in page.text
    assert "Toestemming intrekken" in page.text
    assert 'value="ja"' not in page.text  # a withdrawal link answers no consent request

    answer = await portal.post(
        f"/toestemming/{TOKEN}",
        content=with_token("antwoord=intrekken&idempotency_key=k-1", link=TOKEN),
        headers=FORM,
    )
    assert "U heeft uw toestemming ingetrokken" in answer.text
    method, service, path, _, headers = fake.calls[-1]
    assert (method, service, path) == ("POST", "intake", f"/consent/{TOKEN}/withdraw")
    assert "Authorization" not in headers  # the link is the credential
    assert headers["Idempotency-Key"] == "k-1"  # a double click is one withdrawal


async def test_w10_without_a_choice_the_page_asks_for_one(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/consent/{TOKEN}", (200, link_view("consent")))
    answer = await portal.post(
        f"/toestemming/{TOKEN}", content=with_token("", link=TOKEN), headers=FORM
    )
    assert answer.status_code == 422
    assert "Kies een antwoord" in answer.text
    assert not [c for c in fake.calls if c[0] == "POST"]


async def test_w10_the_ib_sees_that_the_consent_mail_did_not_arrive_and_gets_the_link(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on(
        "GET",
        "notifications",
        f"/cases/{CASE}/notifications",
        (200, {"case_id": CASE, "messages": [parked("toestemming_gevraagd", "no_address")]}),
    )
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert page.status_code == 200
    assert "Een e-mail aan de ouders kwam niet aan" in page.text
    assert "Er is geen e-mailadres van deze ouder bekend." in page.text
    # The parent by name, never by the school's reference.
    assert "De vraag om toestemming, met de persoonlijke link, voor ouder/verzorger M. Visser:" in (
        page.text
    )
    assert "Ouder ouder-1" not in page.text
    assert f"/zaken/{CASE}/toestemming/links" in page.text

    token = "h" * 43
    links = {
        "case_id": CASE,
        "links": [
            {
                "parent_ref": "ouder-1",
                "purpose": "consent",
                "token": token,
                "url": f"/consent/{token}",
                "expires_at": "2027-03-01T08:35:00Z",
            }
        ],
    }
    fake.on("GET", "intake", f"/requests/{CASE}/consent/links", (200, links))
    handover = await portal.get(f"/zaken/{CASE}/toestemming/links", cookies=cookie(**IB))
    assert handover.status_code == 200
    assert f"http://portal.test/toestemming/{token}" in handover.text
    assert "Beste ouder of verzorger" in handover.text
    assert "Voor M. Visser" in handover.text and "Voor ouder ouder-1" not in handover.text


async def test_w10_a_parent_whose_name_is_not_known_is_the_parent_never_the_reference(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    erased = {
        **REQUEST_DETAIL,
        "pupil": {"erased": True, "name": "[gewist]", "date_of_birth": None, "parents": []},
    }
    fake.on("GET", "intake", f"/requests/{CASE}", (200, erased))
    fake.on(
        "GET",
        "notifications",
        f"/cases/{CASE}/notifications",
        (200, {"case_id": CASE, "messages": [parked("toestemming_gevraagd", "no_address")]}),
    )
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert page.status_code == 200
    assert "met de persoonlijke link, voor ouder/verzorger: Er is geen" in page.text
    assert "ouder-1" not in page.text


async def test_the_ib_page_without_undelivered_mail_or_without_notifications_says_nothing_of_it(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    sent = {**parked("toestemming_gevraagd", "no_address"), "status": "sent", "reason_code": None}
    fake.on(
        "GET",
        "notifications",
        f"/cases/{CASE}/notifications",
        (200, {"case_id": CASE, "messages": [sent]}),
    )
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert "kwam niet aan" not in page.text
    fake.down.add("notifications")
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))
    assert page.status_code == 200 and "kwam niet aan" not in page.text


async def test_the_coordinator_sees_the_messages_that_did_not_arrive(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    hours = ("claim_avg_hours", "claim_median_hours", "contact_avg_hours", "contact_median_hours")
    lead = {"swv": "swv-waterweg", "submitted": 0, "claimed": 0, "contacted": 0}
    lead |= {"deadlines_missed": 0, **dict.fromkeys(hours)}
    fake.on("GET", "assignment", "/lead-times", (200, lead))
    fake.on("GET", "assignment", "/caseloads", (200, []))
    fake.on("GET", "assignment", "/deadlines", (200, []))
    row = {
        "message_id": "0b7e2a4c-1111-4e6f-a7c5-2d8b0e4f6a13",
        "case_id": CASE,
        "recipient_role": "parents",
        "template": "toestemming_gevraagd",
        "reason_code": "bounced",
        "attempts": 1,
        "parked_at": "2026-10-01T10:00:01Z",
    }
    fake.on("GET", "notifications", "/messages/undeliverable", (200, [row]))
    coordinator = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
    page = (await portal.get("/overzicht", cookies=cookie(**coordinator))).text
    assert "Berichten die niet aankwamen" in page
    assert "Het bericht kwam terug" in page and "De vraag om toestemming" in page
    assert f"/zaken/{CASE}" in page
    called = next(c for c in fake.calls if c[2] == "/messages/undeliverable")
    assert called[4]["Authorization"] == "Bearer token-of-co-henk"
