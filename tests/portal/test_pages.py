"""The portal's pages render the services' answers in Dutch and their refusals as messages."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.portal.fakes import (
    ASSIGNMENT_CASE,
    CASE,
    IB,
    REQUEST_DETAIL,
    TEAM_NO,
    WORKER,
    FakeServices,
    cookie,
    trajectory,
    with_token,
)

# The session cookie is per request here: each request acts as one person.
pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sent(fake: FakeServices, method: str, service: str) -> tuple:
    """The last call the portal made to ``service`` with ``method``."""
    return next(c for c in reversed(fake.calls) if c[0] == method and c[1] == service)


def form(**fields: str) -> str:
    return httpx.QueryParams(fields).__str__()


async def test_without_a_session_a_page_sends_you_to_sign_in(portal: httpx.AsyncClient) -> None:
    answer = await portal.get("/school")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/aanmelden"


async def test_a_forged_cookie_is_no_session(portal: httpx.AsyncClient) -> None:
    forged = cookie(**IB)["passend_sessie"].replace("a", "b", 1)
    answer = await portal.get("/school", cookies={"passend_sessie": forged + "0"})
    assert answer.status_code == 303


async def test_every_page_says_it_is_dutch_and_has_a_skip_link(portal: httpx.AsyncClient) -> None:
    page = (await portal.get("/aanmelden")).text
    assert '<html lang="nl">' in page
    assert 'href="#inhoud"' in page and 'id="inhoud"' in page


async def test_ib_sees_the_schools_cases_with_who_is_responsible_W25(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    summary = {
        k: REQUEST_DETAIL[k]
        for k in (
            "case_id",
            "school_id",
            "ib_id",
            "addressed_worker_id",
            "pupil_ref",
            "levels",
            "status",
            "consent_status",
            "submitted_at",
        )
    }
    fake.on("GET", "intake", "/schools/brin-11aa/requests", (200, [summary]))
    fake.on(
        "GET",
        "assignment",
        f"/cases/{CASE}",
        (200, {**ASSIGNMENT_CASE, "responsible_worker_id": "ow-bart"}),
    )
    page = await portal.get("/school", cookies=cookie(**IB))
    assert page.status_code == 200
    assert "leerling-042" in page.text
    assert "Ingediend, wacht op een onderwijsondersteuner" in page.text
    assert "Bart van Leeuwen" in page.text  # the directory's name, not the id ow-bart
    assert "21 september 2026" in page.text
    assert fake.calls[0][4]["Authorization"] == "Bearer token-of-ib-marieke"


async def test_the_request_form_explains_stuck_and_basic_support_W4_B(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "GET",
        "assignment",
        "/directory",
        (200, {"workers": [{"worker_id": "ow-anouk", "expertise": ["reading"]}]}),
    )
    page = (await portal.get("/school/aanvraag", cookies=cookie(**IB))).text
    # The rule behind the hint is a "waarom?" link to the agreement, not a bare tag.
    assert "Vastlopen betekent" in page and 'href="/afspraken#w4"' in page
    assert "basisondersteuning" in page and "(B)" in page
    assert '<label for="f-why_stuck">' in page
    assert '<option value="ow-anouk"' in page


async def test_the_ib_names_the_pupils_teacher_from_the_schools_teachers_W16(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    directory = {
        "workers": [{"worker_id": "ow-anouk", "expertise": ["reading"]}],
        "teachers": [{"person_id": "lk-sanne", "display_name": "Sanne Bakker"}],
    }
    fake.on("GET", "assignment", "/directory", (200, directory))
    page = (await portal.get("/school/aanvraag", cookies=cookie(**IB))).text
    assert "Leerkracht van de leerling" in page
    assert '<option value="lk-sanne">Sanne Bakker</option>' in page
    fake.on("POST", "intake", "/requests", (201, {"case_id": CASE}))
    await portal.post(
        "/school/aanvraag",
        content=with_token(form(teacher_id="lk-sanne"), cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert sent(fake, "POST", "intake")[3]["teacher_id"] == "lk-sanne"
    # Without a choice no teacher is named.
    await portal.post(
        "/school/aanvraag",
        content=with_token(form(teacher_id=""), cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert sent(fake, "POST", "intake")[3]["teacher_id"] is None


async def test_a_schema_refusal_lands_on_its_field(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    detail = [
        {"type": "string_too_short", "loc": ["body", "why_stuck"], "msg": "short"},
        {
            "type": "value_error",
            "loc": ["body", "pupil", "parents", 0, "email"],
            "msg": "not an email",
        },
    ]
    fake.on("POST", "intake", "/requests", (422, {"detail": detail}))
    answer = await portal.post(
        "/school/aanvraag",
        content=with_token(form(why_stuck="", idempotency_key="k-1"), cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-why_stuck-fout">.*Vul dit veld in\.', answer.text)
    assert re.search(r'id="f-pupil-parents-0-email-fout">.*geldig e-mailadres', answer.text)
    assert 'aria-invalid="true"' in answer.text
    call = sent(fake, "POST", "intake")
    assert call[4]["Idempotency-Key"] == "k-1"
    assert call[3]["levels"] == ["pupil"] and call[3]["school_id"] == "brin-11aa"


async def test_a_rule_refusal_W5_lands_next_to_its_question(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    detail = {"rule": "W5", "field": "levels", "message": "refused: system guidance"}
    fake.on("POST", "intake", "/requests", (422, {"detail": detail}))
    answer = await portal.post(
        "/school/aanvraag",
        content=with_token(form(school_organisation="ja"), cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert sent(fake, "POST", "intake")[3]["levels"] == ["pupil", "school_organisation"]
    assert re.search(r'id="f-school_organisation-fout">.*schoolorganisatie', answer.text)
    assert "refused: system guidance" in answer.text  # only inside the helpdesk details


async def test_a_submitted_request_waits_for_the_read_model(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "intake", "/requests", (201, {"case_id": CASE, "status": "submitted"}))
    answer = await portal.post(
        "/school/aanvraag",
        content=with_token(form(why_stuck="x"), cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert answer.headers["location"] == f"/zaken/{CASE}?nieuw=1"
    page = await portal.get(answer.headers["location"], cookies=cookie(**IB))
    assert page.status_code == 200
    assert 'hx-get="/zaken/' in page.text and "wacht=intake%3A0" in page.text
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    poll = await portal.get(f"/zaken/{CASE}/bijgewerkt?wacht=intake:0", cookies=cookie(**IB))
    assert poll.headers["HX-Redirect"] == f"/zaken/{CASE}?nieuw=1"


async def test_the_teacher_reads_the_request_without_the_ibs_forms_W16(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """The teacher named in a request reads it from the start, before any trajectory;
    asking consent and withdrawing are the IB's, so the teacher gets no such forms."""
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    teacher = cookie(role="teacher", subject="lk-sanne", school_id="brin-11aa")
    page = (await portal.get(f"/zaken/{CASE}", cookies=teacher)).text
    assert "Aanvraag voor" in page and "Toestemming van de ouders" in page
    assert 'href="/klas"' in page and 'href="/school"' not in page
    assert "/toestemming/vragen" not in page and "/intrekken" not in page
    assert "/leerling-gehoord" not in page
    ib_page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text
    assert "/toestemming/vragen" in ib_page and "/intrekken" in ib_page


async def test_a_service_that_is_down_is_named_not_traced(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.down.add("intake")
    page = await portal.get("/school", cookies=cookie(**IB))
    assert page.status_code == 503
    assert "De dienst Aanvragen en toestemming is nu niet bereikbaar" in page.text
    assert "Traceback" not in page.text


async def test_ib_asks_consent_by_link_and_sees_the_parents_link_once_W10(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    token = "t" * 43
    links = {
        "case_id": CASE,
        "status": "requested",
        "links": [
            {
                "parent_ref": "ouder-1",
                "token": token,
                "url": f"/consent/{token}",
                "expires_at": "2026-09-21T08:35:00Z",
            }
        ],
    }
    fake.on("POST", "intake", f"/requests/{CASE}/consent/requests", (201, links))
    body = "method=personal_link&parent_refs=ouder-1&days=7&letter=ja"
    page = await portal.post(
        f"/zaken/{CASE}/toestemming/vragen",
        content=with_token(body, cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert page.status_code == 200
    assert f"http://portal.test/toestemming/{token}" in page.text
    assert "Beste ouder of verzorger" in page.text
    assert sent(fake, "POST", "intake")[3] == {
        "method": "personal_link",
        "parent_refs": ["ouder-1"],
        "expires_in_hours": 168,
    }


async def test_the_parent_answers_without_signing_in_W10(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    token = "p" * 43
    fake.on(
        "GET",
        "intake",
        f"/consent/{token}",
        (
            200,
            {
                "state": "open",
                "expires_at": "2026-09-21T08:35:00Z",
                "question": "Geeft u toestemming?",
            },
        ),
    )
    fake.on(
        "POST",
        "intake",
        f"/consent/{token}/confirm",
        (201, {"case_id": CASE, "event_type": "x", "version": 3}),
    )
    page = await portal.get(f"/toestemming/{token}")
    assert "Geeft u toestemming?" in page.text and "intrekken" in page.text
    answer = await portal.post(
        f"/toestemming/{token}", content=with_token("antwoord=ja", link=token), headers=FORM
    )
    assert "U heeft toestemming gegeven" in answer.text
    assert "Authorization" not in fake.calls[-1][4]


async def test_a_used_link_says_so_plainly(portal: httpx.AsyncClient, fake: FakeServices) -> None:
    token = "u" * 43
    fake.on(
        "POST",
        "intake",
        f"/consent/{token}/refuse",
        (410, {"detail": {"rule": "W10", "message": "used"}}),
    )
    answer = await portal.post(
        f"/toestemming/{token}", content=with_token("antwoord=nee", link=token), headers=FORM
    )
    assert answer.status_code == 410
    assert "Deze link werkt niet meer" in answer.text


async def test_worker_sees_inbox_and_what_is_due_this_week_W21_W26(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    row = {
        **ASSIGNMENT_CASE,
        "routed_at": None,
        "time_left": {"seconds": 100, "working_days": 2, "lapsed": False},
    }
    fake.on("GET", "assignment", "/workers/ow-anouk/inbox", (200, [row]))
    fake.on("GET", "assignment", "/work-units/wu-vlaardingen/queue", (200, []))
    fake.on("GET", "assignment", "/deadlines", (200, [row]))
    fake.on(
        "GET",
        "trajectory",
        "/workers/ow-anouk/evaluations-due",
        (
            200,
            {
                "worker_id": "ow-anouk",
                "evaluations": [
                    {"case_id": CASE, "kind": "plan", "due_on": "2000-01-01", "status": "overdue"}
                ],
            },
        ),
    )
    page = (await portal.get("/werk", cookies=cookie(**WORKER))).text
    assert "nog 2 werkdagen" in page
    assert "Te laat" in page
    assert "De wachtrij is leeg." in page


async def test_a_second_claim_gets_a_plain_message_W25(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "POST",
        "assignment",
        f"/cases/{CASE}/claim",
        (409, {"detail": {"rule": "W25", "message": "claimed by ow-bart"}}),
    )
    fake.on("GET", "assignment", f"/cases/{CASE}", (200, ASSIGNMENT_CASE))
    page = await portal.post(
        f"/zaken/{CASE}/oppakken",
        content=with_token("key=k", cookie(**WORKER)),
        headers=FORM,
        cookies=cookie(**WORKER),
    )
    assert page.status_code == 422
    assert "al opgepakt" in page.text


async def test_suggestions_give_their_reasons_in_dutch_W24(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    ranked = [
        {
            "worker_id": "ow-chantal",
            "total": 0.5,
            "position": 1,
            "requested_areas": ["reading", "maths"],
            "has_areas": ["reading"],
            "lacks_areas": ["maths"],
            "knows_school": True,
            "open_cases": 1,
            "weekly_case_hours": 12,
            "hours_free": 10,
            "factors": [
                {
                    "factor": "expertise",
                    "score": 0.5,
                    "weight": 1.0,
                    "priority": 1,
                    "why": "has 1 of 2 requested areas: reading; lacks maths",
                },
                {
                    "factor": "school_familiarity",
                    "score": 1.0,
                    "weight": 0.0,
                    "priority": 2,
                    "why": "knows the school",
                },
                {
                    "factor": "caseload_room",
                    "score": 0.8333,
                    "weight": 0.0,
                    "priority": 3,
                    "why": "1 open cases take 2 of 12 hours a week, 10 hours free",
                },
            ],
        }
    ]
    fake.on("GET", "assignment", f"/cases/{CASE}/suggestions", (200, ranked))
    page = (await portal.get(f"/zaken/{CASE}/suggesties", cookies=cookie(**WORKER))).text
    assert "Chantal Visser" in page
    assert "Gevraagde expertise: Lezen en spelling, Rekenen." in page
    assert "heeft 1 van 2 gevraagde expertises: lezen en spelling (niet: rekenen)" in page
    assert "10 uur per week vrij" in page and "kent de school;" in page
    assert "has 1 of 2" not in page and "knows the school" not in page


async def test_a_plan_refusal_names_the_rule_at_the_plan_form_W6(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "POST",
        "trajectory",
        f"/cases/{CASE}/plans",
        (409, {"detail": {"rule": "W6", "message": "no start conversation"}}),
    )
    fake.on(
        "GET", "assignment", f"/cases/{CASE}", (200, {**ASSIGNMENT_CASE, "claimed_by": "ow-anouk"})
    )
    fake.on(
        "GET",
        "trajectory",
        f"/cases/{CASE}/trajectory",
        (200, trajectory(start_conversation={"held_on": "2026-09-15", "sharpened_question": "?"})),
    )
    body = (
        "plan.goals.0.description=Leest&plan.goals.0.measure=AVI"
        "&plan.goals.0.target_date=2026-12-01&plan.supported=pupil"
    )
    page = await portal.post(
        f"/zaken/{CASE}/plan",
        content=with_token(body, cookie(**WORKER)),
        headers=FORM,
        cookies=cookie(**WORKER),
    )
    assert "Leg eerst het startgesprek vast" in page.text
    body = sent(fake, "POST", "trajectory")[3]
    assert body["goals"] == [
        {"goal_id": "doel-1", "description": "Leest", "measure": "AVI", "target_date": "2026-12-01"}
    ]
    assert body["supported"] == ["pupil"]


async def test_an_escalating_evaluation_carries_municipality_reasons_and_draft_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "trajectory", f"/cases/{CASE}/evaluations", (200, {"version": 9}))
    body = (
        "evaluaties.evaluation_id=e1&evaluaties.escalation_id=x1&evaluaties.participants=ow-anouk,+ib-marieke"
        "&evaluaties.goal_results.0.goal_id=doel-1&evaluaties.goal_results.0.result=deels"
        "&evaluaties.outcome=escalate&evaluaties.escalation.municipality=GM0622"
        "&evaluaties.escalation.reasons=waiting_list&evaluaties.escalation.draft_plan=Overbrugging"
    )
    answer = await portal.post(
        f"/zaken/{CASE}/evaluaties",
        content=with_token(body, cookie(**WORKER)),
        headers=FORM,
        cookies=cookie(**WORKER),
    )
    assert answer.headers["location"] == f"/zaken/{CASE}?wacht=trajectory:9&gedaan=evaluaties"
    body = sent(fake, "POST", "trajectory")[3]
    assert body["participants"] == ["ow-anouk", "ib-marieke"]
    assert body["goal_results"] == [{"goal_id": "doel-1", "result": "deels"}]
    assert body["escalation"] == {
        "escalation_id": "x1",
        "municipality": "GM0622",
        "reasons": ["waiting_list"],
        "draft_plan": "Overbrugging",
    }


async def test_team_no_sees_reasons_and_draft_plan_on_the_agenda_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    agenda = {
        "region": "waterweg",
        "cases": [
            {
                "case_id": CASE,
                "municipality": "GM0622",
                "reasons": ["waiting_list", "no_bridging_care"],
                "draft_plan": "Overbrugging op school",
                "escalation_id": None,
                "escalated_by": "ow-anouk",
                "escalated_at": "2026-10-01T10:00:00+00:00",
            }
        ],
    }
    fake.on("GET", "trajectory", "/regions/waterweg/team-no-agenda", (200, agenda))
    page = (await portal.get("/team-no", cookies=cookie(**TEAM_NO))).text
    assert "Wachtlijst, Geen overbruggingszorg" in page
    assert "Overbrugging op school" in page and "Vlaardingen" in page


async def test_the_stagnation_report_draws_bars_with_a_table_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    report = {
        "region": "waterweg",
        "escalations": 3,
        "by_reason": {"waiting_list": 2, "budget_dispute": 1},
        "by_municipality": {"GM0622": 2, "GM0606": 1},
        "by_reason_and_municipality": [],
    }
    fake.on("GET", "trajectory", "/regions/waterweg/stagnations", (200, report))
    page = (await portal.get("/team-no/stagnatie", cookies=cookie(**TEAM_NO))).text
    assert page.count('<svg class="grafiek" role="img"') == 2
    assert "<title" in page and "Wachtlijst" in page and "Schiedam" in page


async def test_the_stagnation_report_covers_a_chosen_period_R(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    report = {
        "region": "waterweg",
        "since": "2026-09-01",
        "until": "2026-11-30",
        "escalations": 1,
        "by_reason": {"waiting_list": 1},
        "by_municipality": {"GM0622": 1},
        "by_reason_and_municipality": [],
    }
    asked: list[dict[str, str]] = []

    def answer_for(request: httpx.Request) -> tuple[int, dict[str, object]]:
        asked.append(dict(request.url.params))
        return 200, report

    fake.on("GET", "trajectory", "/regions/waterweg/stagnations", answer_for)
    answer = await portal.get(
        "/team-no/stagnatie?van=2026-09-01&tot=2026-11-30", cookies=cookie(**TEAM_NO)
    )
    assert asked == [{"since": "2026-09-01", "until": "2026-11-30"}]
    assert "van 1 september 2026 tot en met 30 november 2026" in answer.text
    assert "Hele periode" in answer.text
    wrong = await portal.get("/team-no/stagnatie?van=september", cookies=cookie(**TEAM_NO))
    assert wrong.status_code == 200 and "geen geldige datum" in wrong.text


async def test_a_page_for_another_role_says_so(portal: httpx.AsyncClient) -> None:
    page = await portal.get("/team-no", cookies=cookie(**IB))
    assert page.status_code == 403
    assert "andere rol" in page.text


async def test_a_post_from_another_site_is_refused(portal: httpx.AsyncClient) -> None:
    answer = await portal.post("/afmelden", headers={"Origin": "http://evil.test"})
    assert answer.status_code == 403


async def test_the_coordinator_sees_lead_times_caseloads_and_open_evaluations(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    lead = {
        "swv": "swv-waterweg",
        "submitted": 4,
        "claimed": 3,
        "contacted": 2,
        "deadlines_missed": 1,
        "claim_avg_hours": 5.5,
        "claim_median_hours": 4.0,
        "contact_avg_hours": 30.0,
        "contact_median_hours": 28.0,
    }
    loads = [
        {
            "worker_id": "ow-anouk",
            "work_unit_id": "wu-vlaardingen",
            "open_cases": 3,
            "weekly_case_hours": 20,
            "hours_taken": 6,
            "hours_free": 14,
            "hours_over": 0,
            "over_capacity": False,
        }
    ]
    missed = {**ASSIGNMENT_CASE, "routed_at": None, "deadline_missed": True, "time_left": None}
    fake.on("GET", "assignment", "/lead-times", (200, lead))
    fake.on("GET", "assignment", "/caseloads", (200, loads))
    fake.on("GET", "assignment", "/deadlines", (200, [missed]))
    fake.on(
        "GET",
        "trajectory",
        "/workers/ow-anouk/evaluations-due",
        (
            200,
            {
                "evaluations": [
                    {"case_id": CASE, "kind": "plan", "due_on": "2027-01-10", "status": "due"}
                ]
            },
        ),
    )
    coordinator = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
    page = (await portal.get("/overzicht", cookies=cookie(**coordinator))).text
    assert page.count('role="img"') == 2
    assert "Tot eerste contact, gemiddeld" in page and "30 uur" in page
    assert "verlopen" in page and "10 januari 2027" in page
    assert sent(fake, "GET", "assignment")  # called with the coordinator's token
    caseloads = next(c for c in fake.calls if c[2] == "/caseloads")
    assert caseloads[4]["Authorization"] == "Bearer token-of-co-henk"


async def test_the_auditor_reads_the_case_as_of_a_moment_with_a_purpose(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, trajectory(status="escalated")))
    auditor = {"role": "auditor", "subject": "auditor-1"}
    refused = await portal.get(f"/audit/zaken/{CASE}", cookies=cookie(**auditor))
    assert refused.status_code == 422 and "waarom u deze casus inziet" in refused.text
    page = await portal.get(
        f"/audit/zaken/{CASE}?doel=klacht&moment=2026-10-01T12:00:00", cookies=cookie(**auditor)
    )
    assert page.status_code == 200
    assert "Aanvraag ingediend" in page.text and "Aangemeld bij Team NO" in page.text
    audit_calls = [c for c in fake.calls if c[2].startswith("/audit/")]
    assert len(audit_calls) == 4
    as_of = next(c for c in fake.calls if c[2].endswith("/trajectory"))
    assert as_of[0] == "GET"
    report = await portal.get(f"/audit/zaken/{CASE}/rapport?doel=klacht", cookies=cookie(**auditor))
    assert report.headers["content-disposition"].startswith("attachment")
    assert 'id="content-sha256"' in report.text


async def test_the_ib_acknowledges_a_signal_W19(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    signal_id = "5b0c2a9a-4d4b-4a77-9a51-7c3f4e0a1b22"
    raised = {
        "signal_id": signal_id,
        "about": "teaching_practice",
        "description": "Instructie te lang",
        "raised_at": "2026-10-01T10:00:00+00:00",
        "addressed_to": ["ib"],
        "raised_by": "ow-anouk",
    }
    fake.on(
        "GET", "intake", f"/requests/{CASE}", (200, {**REQUEST_DETAIL, "status": "in_trajectory"})
    )
    fake.on(
        "GET",
        "trajectory",
        f"/cases/{CASE}/trajectory",
        (200, trajectory(signals=[{"raised": raised, "acknowledged": None}])),
    )
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text
    assert "De aanpak in de klas" in page and "Instructie te lang" in page
    assert f"/signalen/{signal_id}/gelezen" in page
    assert "Aanvraag intrekken" not in page  # a trajectory runs: withdrawing is over
    fake.on(
        "POST",
        "trajectory",
        f"/cases/{CASE}/signals/{signal_id}/acknowledgement",
        (200, {"version": 7}),
    )
    answer = await portal.post(
        f"/zaken/{CASE}/signalen/{signal_id}/gelezen",
        content=with_token("response=Doen+we", cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert answer.headers["location"] == f"/zaken/{CASE}?wacht=trajectory:7"
    assert sent(fake, "POST", "trajectory")[3] == {"response": "Doen we"}


async def test_a_refused_withdrawal_shows_at_its_form(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on(
        "POST",
        "intake",
        f"/requests/{CASE}/withdrawal",
        (
            422,
            {"detail": [{"type": "string_too_short", "loc": ["body", "reason"], "msg": "short"}]},
        ),
    )
    page = await portal.post(
        f"/zaken/{CASE}/intrekken",
        content=with_token("intrekken.reason=", cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert page.status_code == 422
    assert re.search(r'id="f-intrekken-reason-fout">.*Vul dit veld in', page.text)
    assert "<details open>" in page.text


async def test_the_ib_corrects_a_parents_address_the_link_did_not_reach_W10(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    path = f"/requests/{CASE}/parents/ouder-1/contact"
    corrected = {"case_id": CASE, "event_type": "ParentContactCorrected", "version": 4}
    fake.on("PUT", "intake", path, (200, corrected))
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text
    assert "Contactgegevens van een ouder" in page
    assert "M. Visser (nu: geen contactgegevens)" in page
    body = form(**{"contact.parent_ref": "ouder-1", "contact.email": "m.visser@example.org"})
    done = await portal.post(
        f"/zaken/{CASE}/ouders/contact",
        content=with_token(body, cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert done.status_code == 303, done.text[:500]
    assert done.headers["location"] == f"/zaken/{CASE}?wacht=intake:4&gedaan=contact#toestemming"
    put = sent(fake, "PUT", "intake")
    assert (put[2], put[3]) == (path, {"email": "m.visser@example.org", "phone": None})

    # Intake refuses the address it already has: said in Dutch at the address's field.
    same = {
        "detail": {
            "rule": "W10",
            "message": "the parent is already reached at this contact: nothing to correct",
            "field": "email",
        }
    }
    fake.on("PUT", "intake", path, (422, same))
    refused = await portal.post(
        f"/zaken/{CASE}/ouders/contact",
        content=with_token(body, cookie(**IB)),
        headers=FORM,
        cookies=cookie(**IB),
    )
    assert refused.status_code == 422
    assert re.search(
        r'id="f-contact-email-fout">.*Dit zijn de contactgegevens die al bekend zijn', refused.text
    )
    # The teacher reads along, without the form.
    teacher = cookie(role="teacher", subject="lk-sanne", school_id="brin-11aa")
    assert "/ouders/contact" not in (await portal.get(f"/zaken/{CASE}", cookies=teacher)).text
