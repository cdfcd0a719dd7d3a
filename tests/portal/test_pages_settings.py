"""Issue 19: the operator's screens for messages, on notifications' API: the messages that
were not delivered (send again), the SWV's mailboxes (set, correct, remove an address),
the messages' wording (own text, refused placeholders, back to the default) and the
municipalities' webhooks (add, new secret, stop). Dutch on screen, a CSRF token on every
form, a Dutch confirmation after every change and a Dutch refusal."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.portal.fakes import FakeServices, cookie, with_token
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OPERATOR = cookie("operator", "op-kees")
MESSAGE = "6d1f3e2a-0b4c-4f5e-8a7b-9c0d1e2f3a4b"
CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"
HOOK = "0c9e8d7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"
ESCALATED = "nl.passend.trajectory.EscalatedToTeamNO.v1"
DECIDED = "nl.passend.trajectory.TeamNODecisionRecorded.v1"


def form(fields: dict[str, Any] | list[tuple[str, str]]) -> str:
    return with_token(urlencode(fields), OPERATOR)


def parked_message(**changes: Any) -> dict[str, Any]:
    found = {
        "message_id": MESSAGE,
        "case_id": CASE,
        "channel": "email",
        "recipient_role": "route_coach",
        "recipient_id": "route_coach",
        "attempts": 5,
        "reason": "no e-mail address for route_coach route_coach: an operator sets it with "
        "PUT /contacts/route_coach",
        "parked_at": "2026-12-05T09:30:00+00:00",
        "template": "routebegeleider_ingeschakeld",
        "reason_code": "no_address",
    }
    return {**found, **changes}


CONTACT = {
    "recipient_id": "team_no:waterweg",
    "email": "tno@waterweg.passend.test",
    "display_name": "Team NO Waterweg",
    "updated_at": "2026-12-01T08:00:00+00:00",
}
TEMPLATE = {
    "template": "zaak_geclaimd",
    "subject": "Hulpvraag $zaak is opgepakt",
    "body": "$aanhef\n\nUw hulpvraag $zaak is opgepakt.\n\nBekijk de hulpvraag: $link",
    "placeholders": ["aanhef", "datum", "link", "zaak"],
    "overridden": False,
}
SUBSCRIPTION = {
    "id": HOOK,
    "url": "https://zaken.vlaardingen.test/passend",
    "municipality": "GM0622",
    "event_types": [ESCALATED],
    "active": True,
    "created_at": "2026-12-01T08:00:00+00:00",
    "secret_rotated_at": None,
    "previous_valid_until": None,
}


@pytest.fixture
def notifications(fake: FakeServices) -> FakeServices:
    fake.on("GET", "notifications", "/messages/parked", (200, [parked_message()]))
    fake.on("GET", "notifications", "/contacts", (200, [CONTACT]))
    fake.on("GET", "notifications", "/templates", (200, [TEMPLATE]))
    fake.on("GET", "notifications", "/templates/zaak_geclaimd", (200, TEMPLATE))
    fake.on("GET", "notifications", "/webhooks", (200, [SUBSCRIPTION]))
    return fake


def posted(fake: FakeServices, method: str = "POST") -> list[tuple[str, Any, httpx.Headers]]:
    return [(c[2], c[3], c[4]) for c in fake.calls if c[0] == method and c[1] == "notifications"]


@pytest.mark.parametrize(
    "path",
    ["/beheer/bezorging", "/beheer/mailboxen", "/beheer/berichtteksten", "/beheer/koppelingen"],
)
async def test_every_screen_is_the_operators_in_dutch_without_codes(
    portal: httpx.AsyncClient, notifications: FakeServices, path: str
) -> None:
    page = await portal.get(path, cookies=OPERATOR)
    assert page.status_code == 200, page.text
    assert faults(screen_text(page.text)) == []
    assert 'name="csrf_token"' in page.text
    assert 'aria-current="page"' in page.text  # the operator's menu marks the screen
    other = await portal.get(path, cookies=cookie("coordinator", "co-henk"))
    assert other.status_code == 403


async def test_a_parked_message_says_what_to_whom_and_why_and_is_sent_again(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    page = await portal.get("/beheer/bezorging", cookies=OPERATOR)
    text = screen_text(page.text)
    assert "Het bericht aan de routebegeleider" in text
    assert "Mailbox Routebegeleiding" in text
    assert "Voor deze mailbox is geen e-mailadres ingesteld" in text
    assert "Adres van de mailbox instellen" in text  # the fix, one click away
    assert "PUT /contacts" not in text  # the service's words stay folded, in English

    notifications.on(
        "POST",
        "notifications",
        f"/messages/{MESSAGE}/replay",
        (202, {"message_id": MESSAGE, "status": "pending"}),
    )
    sent = await portal.post(
        f"/beheer/bezorging/{MESSAGE}/opnieuw",
        content=form({"key": "k-1"}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/beheer/bezorging?gedaan=opnieuw"
    [(path, _, headers)] = posted(notifications)
    assert path == f"/messages/{MESSAGE}/replay" and headers["idempotency-key"] == "k-1"
    done = await portal.get(sent.headers["location"], cookies=OPERATOR)
    assert "Het bericht wordt opnieuw verstuurd" in done.text


async def test_a_message_no_longer_parked_is_refused_in_dutch(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    notifications.on(
        "POST",
        "notifications",
        f"/messages/{MESSAGE}/replay",
        (409, {"detail": {"rule": "replay", "message": "message is sent, not parked"}}),
    )
    refused = await portal.post(
        f"/beheer/bezorging/{MESSAGE}/opnieuw",
        content=form({"key": "k-2"}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert refused.status_code == 409
    assert "staat niet meer klaar om opnieuw te versturen" in refused.text
    unsigned = await portal.post(
        f"/beheer/bezorging/{MESSAGE}/opnieuw",
        content="key=k-3",
        headers=FORM,
        cookies=OPERATOR,
    )
    assert unsigned.status_code == 403  # no CSRF token: no replay
    assert len(posted(notifications)) == 1


async def test_mailboxes_are_listed_set_corrected_and_removed(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    page = await portal.get("/beheer/mailboxen", cookies=OPERATOR)
    text = screen_text(page.text)
    assert "Team NO, regio waterweg" in text and "tno@waterweg.passend.test" in text
    # The route coaches' messages wait for an address: the screen says so.
    assert "Routebegeleiding: 1 bericht wacht" in text

    notifications.on("PUT", "notifications", "/contacts/route_coach", (204, None))
    notifications.on("PUT", "notifications", "/contacts/team_no:waterweg", (204, None))
    notifications.on("DELETE", "notifications", "/contacts/team_no:waterweg", (204, None))
    new = {"kind": "route_coach", "region": "", "email": "rb@swv.test", "display_name": ""}
    saved = await portal.post(
        "/beheer/mailboxen", content=form({**new, "key": "m-1"}), headers=FORM, cookies=OPERATOR
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/beheer/mailboxen?gedaan=mailbox"
    corrected = {"recipient_id": "team_no:waterweg", "email": "tno@swv.test", "key": "m-2"}
    again = await portal.post(
        "/beheer/mailboxen", content=form(corrected), headers=FORM, cookies=OPERATOR
    )
    assert again.status_code == 303
    assert [(p, b) for p, b, _ in posted(notifications, "PUT")] == [
        ("/contacts/route_coach", {"email": "rb@swv.test", "display_name": None}),
        ("/contacts/team_no:waterweg", {"email": "tno@swv.test", "display_name": None}),
    ]
    removed = await portal.post(
        "/beheer/mailboxen/verwijderen",
        content=form({"recipient_id": "team_no:waterweg", "key": "m-3"}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert removed.headers["location"] == "/beheer/mailboxen?gedaan=mailbox-weg"
    assert [p for p, _, _ in posted(notifications, "DELETE")] == ["/contacts/team_no:waterweg"]
    done = await portal.get(removed.headers["location"], cookies=OPERATOR)
    assert "Het adres van de mailbox is verwijderd" in done.text


async def test_a_mailbox_without_region_or_with_a_wrong_address_is_refused_in_dutch(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    no_region = {"kind": "team_no", "region": "", "email": "tno@swv.test", "display_name": ""}
    refused = await portal.post(
        "/beheer/mailboxen", content=form(no_region), headers=FORM, cookies=OPERATOR
    )
    assert refused.status_code == 422
    assert "Vul de regio van Team NO in" in refused.text
    assert not posted(notifications, "PUT")

    wrong = [{"loc": ["body", "email"], "type": "string_pattern_mismatch", "msg": "bad"}]
    notifications.on("PUT", "notifications", "/contacts/route_coach", (422, {"detail": wrong}))
    typo = {"kind": "route_coach", "email": "rb-at-swv", "display_name": ""}
    answered = await portal.post(
        "/beheer/mailboxen", content=form(typo), headers=FORM, cookies=OPERATOR
    )
    assert answered.status_code == 422
    assert "Vul een geldig e-mailadres in." in answered.text
    assert 'value="rb-at-swv"' in answered.text  # what was typed stays


async def test_a_wording_is_changed_refused_for_extra_data_and_set_back(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    listed = await portal.get("/beheer/berichtteksten", cookies=OPERATOR)
    text = screen_text(listed.text)
    assert "Het bericht dat de aanvraag is opgepakt" in text and "Standaardtekst" in text
    page = await portal.get("/beheer/berichtteksten/zaak_geclaimd", cookies=OPERATOR)
    assert page.status_code == 200
    assert "het korte nummer van de casus" in page.text
    assert "Hulpvraag $zaak is opgepakt" in page.text  # prefilled with the text used now
    assert faults(screen_text(page.text)) == []

    notifications.on(
        "PUT",
        "notifications",
        "/templates/zaak_geclaimd",
        (422, {"detail": {"rule": "templates", "message": "placeholder $leerling not allowed"}}),
    )
    greedy = {"subject": "Zaak $zaak", "body": "Over $leerling", "key": "t-1"}
    refused = await portal.post(
        "/beheer/berichtteksten/zaak_geclaimd", content=form(greedy), headers=FORM, cookies=OPERATOR
    )
    assert refused.status_code == 422
    assert "gegevens die dit bericht niet mag bevatten: $leerling" in refused.text
    assert "Over $leerling" in refused.text  # what was typed stays

    notifications.on("PUT", "notifications", "/templates/zaak_geclaimd", (204, None))
    own = {"subject": "Opgepakt: $zaak", "body": "$aanhef\n\nOpgepakt. $link", "key": "t-2"}
    saved = await portal.post(
        "/beheer/berichtteksten/zaak_geclaimd", content=form(own), headers=FORM, cookies=OPERATOR
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/beheer/berichtteksten/zaak_geclaimd?gedaan=tekst"
    assert posted(notifications, "PUT")[-1][1] == {"subject": own["subject"], "body": own["body"]}

    notifications.on(
        "GET", "notifications", "/templates/zaak_geclaimd", (200, {**TEMPLATE, "overridden": True})
    )
    notifications.on("DELETE", "notifications", "/templates/zaak_geclaimd", (204, None))
    changed = await portal.get(saved.headers["location"], cookies=OPERATOR)
    assert "De eigen tekst van het bericht is opgeslagen" in changed.text
    assert "Standaardtekst gebruiken" in changed.text
    reset = await portal.post(
        "/beheer/berichtteksten/zaak_geclaimd/standaard",
        content=form({"key": "t-3"}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert reset.headers["location"] == "/beheer/berichtteksten/zaak_geclaimd?gedaan=standaard"
    unknown = await portal.get("/beheer/berichtteksten/bestaat_niet", cookies=OPERATOR)
    assert unknown.status_code == 404 and "Dit bericht bestaat niet" in unknown.text


async def test_a_webhook_is_added_given_a_new_secret_and_stopped(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    page = await portal.get("/beheer/koppelingen", cookies=OPERATOR)
    text = screen_text(page.text)
    assert "Vlaardingen" in text and "Aangemeld bij Team NO" in text
    assert "Actief" in text
    assert ESCALATED not in text and HOOK not in text

    notifications.on("POST", "notifications", "/webhooks", (201, SUBSCRIPTION))
    fields = [
        ("municipality", "GM0622"),
        ("url", "https://zaken.vlaardingen.test/passend"),
        ("event_types", ESCALATED),
        ("event_types", DECIDED),
        ("secret", "s" * 32),
        ("key", "w-1"),
    ]
    added = await portal.post(
        "/beheer/koppelingen", content=form(fields), headers=FORM, cookies=OPERATOR
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/beheer/koppelingen?gedaan=koppeling"
    assert posted(notifications)[-1][1] == {
        "url": "https://zaken.vlaardingen.test/passend",
        "municipality": "GM0622",
        "event_types": [ESCALATED, DECIDED],
        "secret": "s" * 32,
    }

    notifications.on(
        "POST",
        "notifications",
        f"/webhooks/{HOOK}/secret",
        (200, {**SUBSCRIPTION, "secret_rotated_at": "2026-12-05T10:00:00+00:00"}),
    )
    rotated = await portal.post(
        f"/beheer/koppelingen/{HOOK}/sleutel",
        content=form({"secret": "t" * 32, "overlap_hours": "168", "key": "w-2"}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert rotated.headers["location"] == "/beheer/koppelingen?gedaan=sleutel"
    assert posted(notifications)[-1][1] == {"secret": "t" * 32, "overlap_seconds": 168 * 3600}

    notifications.on("DELETE", "notifications", f"/webhooks/{HOOK}", (204, None))
    stopped = await portal.post(
        f"/beheer/koppelingen/{HOOK}/stoppen",
        content=form({"key": "w-3"}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert stopped.headers["location"] == "/beheer/koppelingen?gedaan=koppeling-weg"
    done = await portal.get(stopped.headers["location"], cookies=OPERATOR)
    assert "De koppeling is gestopt" in done.text


async def test_a_webhook_refused_by_the_service_is_said_in_dutch_and_keeps_no_secret(
    portal: httpx.AsyncClient, notifications: FakeServices
) -> None:
    refusal = {"rule": "webhooks", "message": "bad types", "field": "event_types"}
    notifications.on("POST", "notifications", "/webhooks", (422, {"detail": refusal}))
    fields = {
        "municipality": "GM0622",
        "url": "https://zaken.vlaardingen.test/passend",
        "secret": "geheim-" * 6,
    }
    refused = await portal.post(
        "/beheer/koppelingen", content=form(fields), headers=FORM, cookies=OPERATOR
    )
    assert refused.status_code == 422
    assert "Kies minstens één soort bericht uit de lijst." in refused.text
    assert "geheim-geheim" not in refused.text  # the secret is never shown again

    notifications.on("POST", "notifications", "/webhooks", (503, {"detail": "secret key not set"}))
    no_key = await portal.post(
        "/beheer/koppelingen",
        content=form({**fields, "event_types": ESCALATED}),
        headers=FORM,
        cookies=OPERATOR,
    )
    assert no_key.status_code == 422
    assert "Geheime sleutels van koppelingen kunnen nu niet worden bewaard" in no_key.text
