"""Every step of the process in the portal (issue 19): the route coach (W29), the OPP and its
evaluation (S), the case director and youth care (R), Team NO between evaluations (R), the
care level in words (S) and the auditor's integrity check; each sent by the role whose step
it is, with that person's token, and answered in Dutch."""

from __future__ import annotations

import re
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
COORDINATOR = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
AUDITOR = {"role": "auditor", "subject": "auditor-1"}
CLAIMED = {**ASSIGNMENT_CASE, "claimed_by": "ow-anouk", "claimed_at": "2026-09-15T09:00:00Z"}
OPENED = trajectory(status="in_support", version=7)


def form(**fields: str) -> str:
    return str(httpx.QueryParams(fields))


def sent(fake: FakeServices, service: str, path: str) -> tuple:
    """The last POST the portal made to ``service`` at ``path``."""
    return next(c for c in reversed(fake.calls) if c[0] == "POST" and c[1:3] == (service, path))


def case_answers(fake: FakeServices, view: dict | None = None, case: dict | None = None) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "assignment", f"/cases/{CASE}", (200, case or CLAIMED))
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, view or OPENED))
    fake.on("GET", "notifications", f"/cases/{CASE}/notifications", (200, {"messages": []}))


async def post_step(
    portal: httpx.AsyncClient, who: dict[str, str], step: str, **fields: str
) -> httpx.Response:
    cookies = cookie(**who)
    body = form(**{f"{step}.{k}": v for k, v in fields.items()})
    return await portal.post(
        f"/zaken/{CASE}/{step}",
        content=with_token(body, cookies),
        headers=FORM,
        cookies=cookies,
    )


@pytest.mark.parametrize("who", [WORKER, IB], ids=["onderwijsondersteuner", "ib"])
async def test_either_side_calls_in_the_route_coach_W29(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str]
) -> None:
    case_answers(fake)
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**who))
    assert f'action="/zaken/{CASE}/routebegeleider"' in page.text
    assert "De routebegeleider is niet ingeschakeld." in page.text
    fake.on("POST", "assignment", f"/cases/{CASE}/route-coach", (200, {"version": 4}))
    done = await post_step(portal, who, "routebegeleider", reason="Geen overeenstemming", key="k1")
    assert done.status_code == 303
    assert done.headers["location"] == f"/zaken/{CASE}?gedaan=routebegeleider"
    call = sent(fake, "assignment", f"/cases/{CASE}/route-coach")
    assert call[3] == {"reason": "Geen overeenstemming"}
    assert call[4]["Authorization"] == f"Bearer token-of-{who['subject']}"
    assert call[4]["Idempotency-Key"] == "k1"
    case_answers(fake, case={**CLAIMED, "route_coach_calls": 1})
    page = await portal.get(done.headers["location"], cookies=cookie(**who))
    assert "De routebegeleider is ingeschakeld." in page.text
    assert "De routebegeleider is 1 keer ingeschakeld voor deze casus." in page.text


async def test_a_refused_route_coach_call_is_said_in_dutch_at_its_form_W29(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    refusal = {"rule": "W29", "message": "the support side is represented by ow-bart on this case"}
    fake.on("POST", "assignment", f"/cases/{CASE}/route-coach", (403, {"detail": refusal}))
    page = await post_step(portal, WORKER, "routebegeleider", reason="Vastgelopen")
    assert page.status_code == 422
    assert "Namens de ondersteuning schakelt de onderwijsondersteuner" in page.text
    assert re.search(r"<details open>\s*<summary>Routebegeleider inschakelen", page.text)
    assert "Vastgelopen" in page.text  # what was typed is kept


@pytest.mark.parametrize("who", [WORKER, IB], ids=["onderwijsondersteuner", "ib"])
async def test_the_opp_is_recorded_and_shown_S(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str]
) -> None:
    case_answers(fake)
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**who))
    assert f'action="/zaken/{CASE}/opp"' in page.text and "Er is geen OPP vastgelegd." in page.text
    fake.on("POST", "trajectory", f"/cases/{CASE}/opp", (200, {"version": 8}))
    done = await post_step(portal, who, "opp", drawn_up_on="2026-10-20", key="k2")
    assert done.headers["location"] == f"/zaken/{CASE}?wacht=trajectory:8&gedaan=opp"
    call = sent(fake, "trajectory", f"/cases/{CASE}/opp")
    assert call[3] == {"drawn_up_on": "2026-10-20"}
    assert call[4]["Authorization"] == f"Bearer token-of-{who['subject']}"
    opp = {"drawn_up_on": "2026-10-20", "recorded_by": "ib-marieke", "recorded_at": "2026-10-21"}
    case_answers(fake, trajectory(status="in_support", version=8, opp=opp))
    page = await portal.get(done.headers["location"], cookies=cookie(**who))
    assert "Het OPP is vastgelegd." in page.text
    assert "opgesteld op 20 oktober 2026" in page.text
    assert f'action="/zaken/{CASE}/opp-evaluatie"' in page.text


async def test_the_opp_evaluation_goes_to_trajectory_and_its_refusal_is_dutch_S(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    refusal = {"rule": "S", "message": "no OPP on record to evaluate"}
    fake.on("POST", "trajectory", f"/cases/{CASE}/opp/evaluations", (409, {"detail": refusal}))
    page = await post_step(
        portal, IB, "opp-evaluatie", evaluated_on="2026-11-05", summary="Doelen deels bereikt"
    )
    call = sent(fake, "trajectory", f"/cases/{CASE}/opp/evaluations")
    assert call[3] == {"evaluated_on": "2026-11-05", "summary": "Doelen deels bereikt"}
    assert call[4]["Authorization"] == "Bearer token-of-ib-marieke"
    assert page.status_code == 422
    assert "Er is nog geen OPP vastgelegd om te evalueren." in page.text


async def test_a_missing_summary_lands_on_its_field_S(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    opp = {"drawn_up_on": "2026-10-20", "recorded_by": "ib-marieke", "recorded_at": "2026-10-21"}
    case_answers(fake, trajectory(status="in_support", opp=opp))
    errors = [{"type": "string_too_short", "loc": ["body", "summary"], "msg": "short"}]
    fake.on("POST", "trajectory", f"/cases/{CASE}/opp/evaluations", (422, {"detail": errors}))
    page = await post_step(portal, WORKER, "opp-evaluatie", evaluated_on="2026-11-05", summary="")
    assert re.search(r'id="f-opp-evaluatie-summary-fout">.*Vul dit veld in\.', page.text)


async def test_the_coordinator_sets_the_case_director_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    fake.on("POST", "trajectory", f"/cases/{CASE}/case-director", (200, {"version": 8}))
    done = await post_step(
        portal,
        COORDINATOR,
        "regiehouder",
        role="ib",
        person_id="ib-marieke",
        reason="Binnen de basisondersteuning",
    )
    assert done.headers["location"] == f"/zaken/{CASE}?wacht=trajectory:8&gedaan=regiehouder"
    call = sent(fake, "trajectory", f"/cases/{CASE}/case-director")
    assert call[3] == {
        "role": "ib",
        "person_id": "ib-marieke",
        "reason": "Binnen de basisondersteuning",
    }
    assert call[4]["Authorization"] == "Bearer token-of-co-henk"
    history = [
        {
            "role": "education_specialist",
            "person_id": None,
            "reason": "SWV support is deployed (care level 3): the education specialist "
            "directs the case (R)",
            "explicit": False,
            "changed_at": "2026-10-01T10:00:00+00:00",
        },
        {
            "role": "ib",
            "person_id": "ib-marieke",
            "reason": "Binnen de basisondersteuning",
            "explicit": True,
            "changed_at": "2026-11-01T10:00:00+00:00",
        },
    ]
    view = trajectory(
        status="in_support", version=8, case_director=history[-1], case_director_history=history
    )
    case_answers(fake, view)
    page = await portal.get(done.headers["location"], cookies=cookie(**COORDINATOR))
    assert "De casusregisseur is vastgelegd." in page.text
    assert "Nu voert de IB van de school (Marieke de Vries) de regie." in page.text
    assert "omdat het samenwerkingsverband ondersteuning inzet" in page.text
    assert "gekozen omdat: Binnen de basisondersteuning" in page.text
    assert "SWV support is deployed" not in page.text  # the service's English stays out


async def test_an_ib_may_not_set_the_case_director_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    page = await post_step(portal, IB, "regiehouder", role="ib", reason="x")
    assert "U mag dit niet doen in uw rol." in page.text
    assert not [c for c in fake.calls if c[0] == "POST"]


async def test_the_worker_notes_youth_care_R(portal: httpx.AsyncClient, fake: FakeServices) -> None:
    case_answers(fake)
    fake.on("POST", "trajectory", f"/cases/{CASE}/youth-care", (200, {"version": 9}))
    done = await post_step(portal, WORKER, "jeugdhulp", reason="Zorgen thuis", key="k3")
    assert done.headers["location"] == f"/zaken/{CASE}?wacht=trajectory:9&gedaan=jeugdhulp"
    call = sent(fake, "trajectory", f"/cases/{CASE}/youth-care")
    assert call[3] == {"reason": "Zorgen thuis"}
    assert call[4]["Authorization"] == "Bearer token-of-ow-anouk"
    youth = {"reason": "Zorgen thuis", "noted_by": "ow-anouk", "noted_at": "2026-11-02T10:00:00Z"}
    director = {"role": "wijkteam_worker", "person_id": None, "explicit": False}
    case_answers(fake, trajectory(status="in_support", youth_care=youth, case_director=director))
    page = await portal.get(done.headers["location"], cookies=cookie(**WORKER))
    assert "Een medewerker van het wijkteam voert nu de regie" in page.text
    assert "Nu voert een medewerker van het wijkteam de regie." in page.text
    assert "Er is jeugdhulp nodig, vastgelegd op 2 november 2026 door Anouk Jansen" in page.text
    assert f'action="/zaken/{CASE}/jeugdhulp"' not in page.text  # noted once


async def test_a_stagnating_route_goes_to_team_no_between_evaluations_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    refusal = {
        "rule": "TNO",
        "field": "municipality",
        "message": "no Team NO region of this SWV covers GM0363 (Amsterdam): add it",
    }
    fake.on("POST", "trajectory", f"/cases/{CASE}/escalations", (422, {"detail": refusal}))
    cookies = cookie(**WORKER)
    body = (
        "team-no.escalation_id=x9&team-no.municipality=GM0363&team-no.reasons=waiting_list"
        "&team-no.reasons=no_bridging_care&team-no.draft_plan=Overbrugging"
    )
    page = await portal.post(
        f"/zaken/{CASE}/team-no", content=with_token(body, cookies), headers=FORM, cookies=cookies
    )
    call = sent(fake, "trajectory", f"/cases/{CASE}/escalations")
    assert call[3] == {
        "escalation_id": "x9",
        "municipality": "GM0363",
        "reasons": ["waiting_list", "no_bridging_care"],
        "draft_plan": "Overbrugging",
    }
    assert re.search(r'id="f-team-no-municipality-fout">.*geen Team NO ingesteld', page.text)
    fake.on("POST", "trajectory", f"/cases/{CASE}/escalations", (200, {"version": 10}))
    done = await portal.post(
        f"/zaken/{CASE}/team-no", content=with_token(body, cookies), headers=FORM, cookies=cookies
    )
    assert done.headers["location"] == f"/zaken/{CASE}?wacht=trajectory:10&gedaan=team-no"


async def test_the_care_level_and_its_history_are_shown_in_words_S(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    changes = [
        {"from_level": None, "to_level": 2, "reason": "Extra zorg", "referral": False,
         "changed_at": "2026-10-10T10:00:00+00:00"},
        {"from_level": 2, "to_level": 4, "reason": "Verwijzing nodig", "referral": True,
         "changed_at": "2026-11-10T10:00:00+00:00"},
    ]  # fmt: skip
    case_answers(fake, trajectory(care_level=4, care_level_changes=changes))
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**WORKER))
    assert "Nu: zorgniveau 4: verwijzing naar speciaal (basis)onderwijs" in page.text
    assert "10 oktober 2026: vastgesteld op zorgniveau 2: extra zorg in de groep" in page.text
    assert "10 november 2026: van zorgniveau 2 naar zorgniveau 4" in page.text
    assert "toelaatbaarheidsverklaring" in page.text and "Reden: Verwijzing nodig" in page.text
    assert 'href="/afspraken#s"' in page.text


async def test_the_confirmation_survives_the_wait_for_the_read_model(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake, trajectory(version=7))
    page = await portal.get(f"/zaken/{CASE}?wacht=trajectory:8&gedaan=opp", cookies=cookie(**IB))
    assert "Het OPP is vastgelegd." in page.text
    assert "wacht=trajectory%3A8&amp;gedaan=opp" in page.text
    case_answers(fake, trajectory(version=8))
    poll = await portal.get(
        f"/zaken/{CASE}/bijgewerkt?wacht=trajectory:8&gedaan=opp", cookies=cookie(**IB)
    )
    assert poll.headers["HX-Redirect"] == f"/zaken/{CASE}?nieuw=1&gedaan=opp"


async def test_the_auditor_sees_each_services_integrity_check_in_dutch(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    for service in ("intake", "assignment", "trajectory", "notifications"):
        fake.on("GET", service, f"/audit/cases/{CASE}/events", (200, {"events": [], "reads": []}))
    report = {
        "ok": True,
        "streams_checked": 3,
        "events_checked": 12,
        "broken_streams": 0,
        "first_break": None,
    }
    broken = {
        **report,
        "ok": False,
        "broken_streams": 1,
        "first_break": {
            "stream_id": CASE,
            "stream_version": 4,
            "position": 40,
            "event_id": "e",
            "reason": "hash differs from the hash of the stored fields: the event was changed",
            "expected_hash": "ab",
            "found_hash": "cd",
        },
    }
    fake.on("GET", "intake", "/audit/verify", (200, {**report, "service": "intake"}))
    fake.on("GET", "trajectory", "/audit/verify", (200, {**broken, "service": "trajectory"}))
    fake.down.add("notifications")
    page = await portal.get(f"/audit/zaken/{CASE}?doel=klacht", cookies=cookie(**AUDITOR))
    assert "Controleer of niets is gewijzigd" in page.text
    assert not [c for c in fake.calls if c[2] == "/audit/verify"]  # only when asked
    page = await portal.get(
        f"/audit/zaken/{CASE}?doel=klacht&controle=1", cookies=cookie(**AUDITOR)
    )
    checks = re.search(r'data-testid="controle">(.*?)</ul>', page.text, re.S)
    assert checks is not None
    lines = re.sub(r"<[^>]+>", "", checks.group(1)).split("\n")
    pairs = [line.split(":", 1) for line in lines if ":" in line]
    said = {service.strip(): sentence.strip() for service, sentence in pairs}
    assert said["Aanvragen en toestemming"].startswith("In orde. 12 gebeurtenissen in 3 dossiers")
    assert said["Trajecten"].startswith("Niet in orde. In 1 dossier (van de 3 gecontroleerde)")
    assert "een gebeurtenis is achteraf gewijzigd, bij stap 4 van deze casus" in said["Trajecten"]
    assert said["Toewijzing"] == "Niet gecontroleerd: deze dienst biedt de controle niet aan."
    assert said["Berichten"].startswith("Niet gecontroleerd: de dienst is nu niet bereikbaar.")
    verify = [c for c in fake.calls if c[2] == "/audit/verify"]
    assert {c[1] for c in verify} == {"intake", "assignment", "trajectory"}
    assert all(c[4]["Authorization"] == "Bearer token-of-auditor-1" for c in verify)


def message_events(fake: FakeServices) -> None:
    """The notifications service's audit answer for the case: messages scheduled to the IB
    and to a parent, one that failed and one parked; no other service has events."""

    def event(n: int, kind: str, data: dict[str, object], description: str) -> dict[str, object]:
        return {
            "kind": "event",
            "service": "notifications",
            "event_id": f"e{n}",
            "event_type": f"nl.passend.notifications.{kind}.v1",
            "occurred_at": f"2026-09-15T09:0{n}:00+00:00",
            "actor": "service:notifications",
            "causation_id": None,
            "stream_id": "m1",
            "stream_version": n,
            "position": n,
            "description": description,
            "data": {"case_id": CASE, "channel": "email", **data},
        }

    events = [
        event(
            4,
            "NotificationScheduled",
            {"recipient_role": "parents", "recipient_id": "ouder-1", "template": "traject_gestart"},
            "Bericht 'traject_gestart' ingepland voor parents ouder-1 via email",
        ),
        event(
            1,
            "NotificationScheduled",
            {"recipient_role": "ib", "recipient_id": "ib-marieke", "template": "zaak_geclaimd"},
            "Bericht 'zaak_geclaimd' ingepland voor ib ib-marieke via email",
        ),
        event(
            2,
            "NotificationFailed",
            {
                "attempt": 1,
                "reason": "mail server not reached: SMTPConnectError('x')",
                "reason_code": "unreachable",
            },
            "Verzenden via email mislukt (poging 1): mail server not reached: SMTPConnectError",
        ),
        event(
            3,
            "NotificationParked",
            {"attempts": 8, "reason": "no service token for intake in SWV swv-waterweg"},
            "Bericht geparkeerd na 8 pogingen: no service token for intake in SWV swv-waterweg",
        ),
    ]
    for service in ("intake", "assignment", "trajectory"):
        fake.on("GET", service, f"/audit/cases/{CASE}/events", (200, {"events": [], "reads": []}))
    fake.on(
        "GET",
        "notifications",
        f"/audit/cases/{CASE}/events",
        (200, {"events": events, "reads": []}),
    )


async def test_the_auditor_reads_why_a_message_was_not_sent_in_dutch(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    message_events(fake)
    purposes: list[str | None] = []

    def request_detail(request: httpx.Request) -> tuple[int, Any]:
        purposes.append(request.url.params.get("purpose"))
        return 200, REQUEST_DETAIL

    fake.on("GET", "intake", f"/requests/{CASE}", request_detail)
    page = await portal.get(f"/audit/zaken/{CASE}?doel=klacht", cookies=cookie(**AUDITOR))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert "Verzenden via e-mail mislukt (poging 1): De mailserver was niet bereikbaar." in text
    assert "Bericht geparkeerd na 8 pogingen: Het bericht kon niet worden bezorgd." in text
    assert (
        "Het bericht dat de aanvraag is opgepakt, voor intern begeleider Marieke de Vries, "
        "via e-mail" in text
    )
    # Issue 19: the parent by name (intake's, read with the auditor's purpose), never by
    # the school's pseudonymous reference.
    said = "Het bericht dat de begeleiding start, voor ouder/verzorger M. Visser, via e-mail"
    assert said in text
    assert "ouder-1" not in text
    assert purposes == ["klacht"]
    for english in ("SMTPConnectError", "mail server not reached", "no service token"):
        assert english not in text
    assert faults(text) == []


@pytest.mark.parametrize("intake", ["erased", "down"])
async def test_a_parent_the_auditor_cannot_name_is_a_parent_without_a_reference(
    portal: httpx.AsyncClient, fake: FakeServices, intake: str
) -> None:
    """Issue 19: the pupil erased (no parents' names any more) or intake away: the message
    is for "ouder/verzorger", without the pseudonymous reference."""
    message_events(fake)
    if intake == "erased":
        erased = {**REQUEST_DETAIL, "pupil": {"erased": True, "name": "[gewist]", "parents": []}}
        fake.on("GET", "intake", f"/requests/{CASE}", (200, erased))
    page = await portal.get(f"/audit/zaken/{CASE}?doel=klacht", cookies=cookie(**AUDITOR))
    assert page.status_code == 200
    text = screen_text(page.text)
    assert "Het bericht dat de begeleiding start, voor ouder/verzorger, via e-mail" in text
    assert "ouder-1" not in text
