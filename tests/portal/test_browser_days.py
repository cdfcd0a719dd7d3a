"""In Chromium on the running services: each role's working day, only through the portal.

One stack (four services and the portal as OS processes) serves every test of the module.
Each test signs in as one person and walks that person's day from the sign-in page to the
last step, asserting Dutch text, people's names and the timeline entries on screen, with
axe-core on every page it visits (0 critical, 0 serious).

What a role needs from others first (a request, a claimed case, an escalated case) is
prepared through the services' HTTP APIs with development tokens, as the other people's
portals would send it: one test then shows one role's day, and it stays within the time
of a browser test on a busy two-core machine. The other roles' screens for those steps
are walked by their own test here and by ``test_browser_flow``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from passend_backbone.working_days import local_day
from passend_devstack.infra import Broker, Database
from passend_devstack.waiting import eventually
from tests.e2e.test_trajectory_long_route import IB, PARENT, Route, plan, session, submission
from tests.portal.browser import check, launch, person, reload_until, sign_in, wait_until_ready
from tests.portal.test_browser_flow import SLOW, processes, stack, wait_until_waiting_is_over

# One stack for the module; each day takes a minute or two beside the rest of the suite.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# The stages a case can be brought to before a role's day starts, in the route's order.
STAGES = ("submitted", "consent", "claimed", "supported", "escalated")


@dataclass
class Stack:
    base: str
    urls: dict[str, str]
    browser: Browser
    visited: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def days(
    database: Database, broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    commands, base, health = await stack(database, broker)
    urls = {
        name: url.removesuffix("/health/ready") for name, url in health.items() if name != "portal"
    }
    logs = tmp_path_factory.mktemp("days")
    with processes(commands, logs):
        await wait_until_ready(health, logs)
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                yield Stack(base, urls, browser)
            finally:
                await browser.close()


async def prepared(s: Stack, pupil_ref: str, pupil_name: str, upto: str, **request: Any) -> str:
    """A case brought to ``upto`` through the services' APIs, as the other roles would."""
    stages = STAGES[: STAGES.index(upto) + 1]
    async with httpx.AsyncClient(timeout=15) as http:
        route = Route(http, s.urls)
        body = submission()
        body.update(
            {
                "pupil_ref": pupil_ref,
                "pupil": {**body["pupil"], "name": pupil_name},
                "multiple_problems": False,
                **request,
            }
        )
        answer = await http.post(
            f"{s.urls['intake']}/requests",
            headers={**route.ib, "Idempotency-Key": f"days-{uuid4()}"},
            json=body,
        )
        assert answer.status_code == 201, answer.text
        route.case_id = answer.json()["case_id"]
    await advance(s, route.case_id, pupil_name, stages)
    return route.case_id


async def advance(s: Stack, case_id: str, pupil_name: str, stages: tuple[str, ...]) -> None:
    """The other roles' steps on a case, through the services' APIs with dev tokens:
    the parents' consent (given in a conversation, recorded by the IB), Anouk's claim, her
    start conversation, plan, start of support, a session and a signal, and an escalation to
    Team NO between evaluations."""
    today = datetime.now(UTC).date()
    async with httpx.AsyncClient(timeout=15) as http:
        route = Route(http, s.urls)
        route.case_id = case_id
        if "consent" in stages:
            for step, payload in (
                ("requests", {"method": "start_conversation", "parent_refs": [PARENT]}),
                ("confirmations", {"parent_ref": PARENT, "method": "start_conversation"}),
            ):
                await route.post(
                    "intake",
                    f"/requests/{{case}}/consent/{step}",
                    payload,
                    auth=route.ib,
                    expect=201,
                )
        if "claimed" in stages:

            async def claimed() -> bool:
                r = await http.post(
                    f"{s.urls['assignment']}/cases/{case_id}/claim", headers=route.worker
                )
                return r.status_code == 200

            await eventually(claimed, timeout=60, interval=0.3, what="claim accepted")
        if "supported" in stages:
            await route.trajectory(
                lambda v: v["consent"] and v["consent"]["status"] == "confirmed",
                "trajectory opened with consent",
            )
            await route.post(
                "trajectory",
                "/cases/{case}/start-conversation",
                {
                    "participants": ["ow-anouk", IB],
                    "sharpened_question": f"Wat heeft {pupil_name.split()[0]} nodig in de klas?",
                    "levels": ["pupil"],
                    "held_on": today.isoformat(),
                },
            )
            target = (today + timedelta(weeks=8)).isoformat()
            await route.post("trajectory", "/cases/{case}/plans", plan(today.isoformat(), target))
            await route.post("trajectory", "/cases/{case}/support/start")
            await route.post("trajectory", "/cases/{case}/sessions", session(today.isoformat()))
            await route.post(
                "trajectory",
                "/cases/{case}/signals",
                {
                    "signal_id": str(uuid4()),
                    "addressed_to": ["ib"],
                    "about": "teaching_practice",
                    "description": "Korte instructiestappen helpen; in de klas nog niet.",
                },
            )
        if "escalated" in stages:
            await route.post(
                "trajectory",
                "/cases/{case}/escalations",
                {
                    "escalation_id": str(uuid4()),
                    "municipality": "GM0622",
                    "reasons": ["no_bridging_care"],
                    "draft_plan": "Twee ochtenden per week rust op school tot de zorg start.",
                },
            )
            await route.trajectory(lambda v: v["escalations"], "escalation read")


async def visit(page: Page, s: Stack, shot: str | None = None) -> None:
    """axe on the page (0 critical, 0 serious), and nothing wider than the screen."""
    await check(page, shot, checked=s.visited)
    wider = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wider <= 0, f"{page.url}: the page is {wider}px wider than the screen"


def short(case_id: str) -> str:
    return case_id[:8]


async def open_details(page: Page, summary: str) -> None:
    """Open a collapsed step (a <details>) by its summary."""
    await page.locator("summary", has_text=summary).first.click()


# --- The IB ------------------------------------------------------------------------------


async def test_the_ibs_day_request_consent_story_route_coach_and_opp(days: Stack) -> None:
    """Marieke (IB) submits a request, records the parents' answer given in a conversation,
    follows the support worker's steps in the case's story (prepared through the services'
    APIs as Anouk's portal sends them), answers a signal, calls in the route coach (W29) and
    records the school's OPP (S), and finds the case again by the pupil's given name."""
    s = days
    ib = await person(s.browser, s.base)
    await ib.goto("/aanmelden")
    await visit(ib, s)
    await sign_in(ib, "Marieke (IB")
    await expect(ib.get_by_role("heading", name="Aanvragen van de school")).to_be_visible()
    await visit(ib, s)
    await ib.get_by_role("link", name="Nieuwe aanvraag indienen").click()
    await ib.get_by_label("Kenmerk van de leerling").fill("leerling-301")
    await ib.get_by_label("Naam van de leerling").fill("Sem de Boer")
    await ib.get_by_label("Geboortedatum").fill("2016-09-03")
    await ib.locator("#f-pupil-parents-0-name").fill("J. de Boer")
    await ib.locator("#f-pupil-parents-0-email").fill("j.deboer@example.nl")
    await ib.get_by_label("Wat heeft de leerling nodig?").fill(
        "Rekent traag en raakt de draad kwijt bij verhaaltjessommen."
    )
    await ib.get_by_label("Wat heeft de school al geprobeerd?").fill(
        "Zes weken verlengde instructie in een kleine groep."
    )
    await ib.get_by_label("Waarom loopt de school vast?").fill(
        "Geen groei in rekenen; de leerkracht zoekt een andere aanpak."
    )
    await ib.get_by_label("Onderwijsondersteuner").select_option("ow-anouk")
    await visit(ib, s)
    await ib.get_by_role("button", name="Aanvraag indienen").click()
    await expect(ib.get_by_role("heading", name="Stand van zaken")).to_be_visible(timeout=SLOW)
    await expect(ib.get_by_role("heading", level=1)).to_have_text(
        "Aanvraag voor Sem de Boer (leerling-301)"
    )
    case_id = re.search(r"/zaken/([0-9a-f-]{36})", ib.url).group(1)  # type: ignore[union-attr]
    await expect(ib.get_by_test_id("stand")).to_contain_text("Ingediend")
    await visit(ib, s)

    # The parents said yes in the start conversation: the IB records their answer.
    answered = ib.locator(f'form[action="/zaken/{case_id}/toestemming/vragen"]').filter(
        has=ib.get_by_role("button", name="Antwoord vastleggen")
    )
    await answered.get_by_label("In welk gesprek?").select_option("start_conversation")
    await answered.get_by_label("J. de Boer", exact=True).check()
    await answered.get_by_label("Toestemming gegeven").check()
    await answered.get_by_role("button", name="Antwoord vastleggen").click()
    await reload_until(
        ib, lambda: ib.get_by_test_id("toestemming").get_by_text("Gegeven"), "consent recorded"
    )
    await visit(ib, s)

    # The school's list: the pupil, the state, the worker by name.
    await ib.get_by_role("link", name="Aanvragen van de school").first.click()
    row = ib.get_by_role("row").filter(has=ib.get_by_role("link", name="leerling-301"))
    await expect(row).to_contain_text("Anouk Jansen")
    await expect(row).to_contain_text("Gegeven")
    await visit(ib, s, "ib-aanvragen")

    # Anouk claims, holds the start conversation, plans, starts, holds a session and
    # signals the school (her own day is the support worker's test).
    await advance(s, case_id, "Sem de Boer", ("claimed", "supported"))

    search = ib.get_by_label("Zoek een casus op nummer of leerlingnummer")
    await search.fill("leerling-301")
    await search.press("Enter")
    story = ib.get_by_test_id("verloop")
    await reload_until(ib, lambda: story.get_by_text("Signaal aan de school"), "story complete")
    await expect(story).to_contain_text("Aanvraag ingediend")
    await expect(story).to_contain_text("door Marieke de Vries")
    await expect(story).to_contain_text("Opgepakt door Anouk Jansen")
    await expect(story).to_contain_text("Startgesprek gevoerd")
    await expect(story).to_contain_text("Plan vastgelegd")
    await expect(story).to_contain_text("Begeleiding gestart")
    await expect(story).to_contain_text("Sessie van 1,5 uur")
    await expect(story).to_contain_text("Signaal aan de school: de aanpak in de klas")
    await expect(ib.get_by_text("Leest zelfstandig – gemeten met AVI E4")).to_be_visible()
    await visit(ib, s, "ib-verloop")

    # The signal: read, with the school's answer.
    await ib.get_by_label("Reactie van de school").fill("We passen de instructie aan.")
    await ib.get_by_role("button", name="Signaal gelezen").click()
    await reload_until(
        ib, lambda: ib.get_by_text("We passen de instructie aan."), "signal acknowledged"
    )
    await visit(ib, s)

    # W29: the school and the worker disagree: the IB calls in the route coach.
    await open_details(ib, "Routebegeleider inschakelen")
    await ib.get_by_label("Waar lopen de school en de onderwijsondersteuner samen op vast?").fill(
        "We zijn het niet eens over de inzet in de klas."
    )
    await visit(ib, s)
    await ib.get_by_role("button", name="Routebegeleider inschakelen").click()
    await wait_until_waiting_is_over(ib)
    await reload_until(
        ib, lambda: ib.get_by_text("De routebegeleider is 1 keer ingeschakeld"), "route coach"
    )

    # S: the school's OPP is there.
    await open_details(ib, "OPP vastleggen")
    await (
        ib.locator(f'form[action="/zaken/{case_id}/opp"]')
        .get_by_label("Opgesteld op")
        .fill(datetime.now(UTC).date().isoformat())
    )
    await ib.get_by_role("button", name="OPP vastleggen").click()
    await wait_until_waiting_is_over(ib)
    await reload_until(ib, lambda: ib.get_by_test_id("opp"), "OPP recorded")
    await expect(ib.get_by_test_id("opp")).to_contain_text("OPP opgesteld op")
    await expect(ib.get_by_test_id("opp")).to_contain_text("nog niet geëvalueerd")
    await reload_until(
        ib,
        lambda: story.get_by_text("Ontwikkelingsperspectief (OPP) opgesteld"),
        "OPP in the story",
    )
    # Assignment keeps how often the route coach was called in, not when: the section
    # says it (the story cannot place it in time).
    await expect(ib.get_by_test_id("routebegeleider")).to_have_text(
        "De routebegeleider is 1 keer ingeschakeld voor deze casus."
    )
    await visit(ib, s, "ib-opp")

    # Issue 19: the IB finds the case by the pupil's given name, typed as she says it.
    search = ib.get_by_label("Zoek een casus op nummer of leerlingnummer, of op de naam")
    await search.fill("sem")
    await search.press("Enter")
    await expect(ib.get_by_role("heading", level=1)).to_have_text(
        "Aanvraag voor Sem de Boer (leerling-301)"
    )
    assert ib.url.endswith(f"/zaken/{case_id}"), ib.url
    await visit(ib, s)


# --- The support worker --------------------------------------------------------------------


async def test_the_support_workers_day_every_step_of_the_route(days: Stack) -> None:
    """Anouk (support worker) finds the request addressed to her, claims it after reading
    the suggestions (W24, W25), records the first contact (W26), the start conversation
    (W6), the plan (W15, W16), the start of support and a session (W10, W23), a signal to the
    school (W18), an evaluation that changes the care level (W21, S), the OPP, who directs the
    case and that youth care is needed (R), calls in the route coach (W29) and registers the
    case with Team NO between evaluations (R). The IB's request and the parents' consent
    are prepared through intake's API (the IB's day is its own test)."""
    s = days
    case_id = await prepared(s, "leerling-302", "Lotte Bakker", "consent")
    number = short(case_id)
    worker = await person(s.browser, s.base)
    await sign_in(worker, "Anouk")
    await expect(worker.get_by_role("heading", name="Mijn werk")).to_be_visible()
    await reload_until(
        worker, lambda: worker.get_by_role("link", name=f"Casus {number}"), "case in inbox"
    )
    await visit(worker, s)

    await worker.get_by_role("link", name="Mijn casussen").first.click()
    offered = worker.get_by_role("region", name="Aanvragen die aan u gericht zijn")
    await expect(offered).to_contain_text("leerling-302")
    row = offered.get_by_role("row").filter(
        has=worker.get_by_role("link", name=f"Casus {number}", exact=True)
    )
    await expect(row).to_contain_text("Basisschool De Havenmeester")
    await visit(worker, s, "mijn-casussen")

    # The header's search box: nothing found says so; the pupil reference opens the case.
    search = worker.get_by_label("Zoek een casus op nummer of leerlingnummer")
    await search.fill("leerling-999")
    await search.press("Enter")
    await expect(worker.get_by_test_id("niet-gevonden")).to_contain_text(
        "Geen casus gevonden met „leerling-999”"
    )
    await visit(worker, s, "zoeken")
    await search.fill("leerling-302")
    await search.press("Enter")
    await expect(worker.get_by_role("heading", level=1)).to_have_text(
        f"Casus {number}: Lotte Bakker (leerling-302)"
    )
    suggestions = worker.locator("#suggesties")
    await expect(suggestions).to_contain_text("Gevraagde expertise", timeout=SLOW)
    await expect(suggestions.locator("li").first).to_contain_text("Anouk Jansen")
    await visit(worker, s)

    async def step(button: str) -> None:
        await worker.get_by_role("button", name=button, exact=True).click()
        await wait_until_waiting_is_over(worker)

    def form(action: str) -> Any:
        return worker.locator(f'form[action="/zaken/{case_id}/{action}"]')

    await step("Casus oppakken")
    await expect(worker.get_by_test_id("opgepakt")).to_have_text("Anouk Jansen")
    await expect(worker.get_by_test_id("verantwoordelijk")).to_have_text("Anouk Jansen")
    await visit(worker, s)
    await step("Eerste contact vastleggen")
    await expect(worker.get_by_role("heading", name="Eerste contact met de school")).to_have_count(
        0
    )

    await (
        form("startgesprek")
        .get_by_label("De vraag achter de vraag")
        .fill("Hoe leert Lotte verhaaltjessommen in stappen te ontleden?")
    )
    await step("Startgesprek vastleggen")
    await expect(worker.get_by_text("Verscherpte vraag: Hoe leert Lotte")).to_be_visible()

    # W6, W7: after the start conversation the request is reformulated jointly: the whole
    # text, prefilled, who agreed (the IB and she, by name) and why.
    await open_details(worker, "Hulpvraag herschrijven")
    reformulation = form("hulpvraag")
    await expect(reformulation.get_by_label("Wat de leerling nodig heeft")).to_have_value(
        re.compile(r"\S")
    )
    await expect(reformulation.get_by_label("Marieke de Vries (intern begeleider)")).to_be_checked()
    await expect(reformulation.get_by_label("Anouk Jansen (onderwijsondersteuner)")).to_be_checked()
    await reformulation.get_by_label("Leerkracht", exact=True).check()
    await reformulation.get_by_label("Wat de leerling nodig heeft").fill(
        "Verhaaltjessommen in stappen leren ontleden, met een stappenkaart."
    )
    await reformulation.get_by_label("Waarom is de hulpvraag herschreven?").fill(
        "In het startgesprek bleek het om het ontleden van de opgave te gaan."
    )
    await visit(worker, s)
    await step("Herschreven hulpvraag opslaan")
    await reload_until(
        worker,
        lambda: worker.get_by_test_id("herschreven"),
        "reformulation shown",
    )
    await expect(worker.get_by_test_id("herschreven")).to_contain_text(
        "In het startgesprek bleek het om het ontleden van de opgave te gaan."
    )
    request_text = worker.get_by_role("region", name="De hulpvraag", exact=True)
    await expect(request_text).to_contain_text("Verhaaltjessommen in stappen leren ontleden")
    await expect(request_text).to_contain_text("Leerling, Leerkracht")
    await visit(worker, s, "hulpvraag-herschreven")
    await worker.locator("#f-plan-goals-0-description").fill("Lost verhaaltjessommen zelf op")
    await worker.locator("#f-plan-goals-0-measure").fill("Methodetoets blok 6")
    await step("Plan vastleggen")
    await expect(worker.get_by_test_id("plan")).to_contain_text("Plan versie 1")
    await step("Begeleiding starten")
    await form("sessies").get_by_label("Uren").fill("1.5")
    await form("sessies").get_by_label("Wat viel op?").fill("Werkt goed met een stappenkaart.")
    await step("Sessie vastleggen")
    await expect(worker.get_by_test_id("sessies")).to_contain_text(
        "1,5 uur – Werkt goed met een stappenkaart."
    )

    await open_details(worker, "Signaal afgeven")
    await form("signalen").get_by_label("De aanpak in de klas").check()
    await (
        form("signalen")
        .get_by_label("Wat ziet u?")
        .fill("De stappenkaart ligt in de klas nog niet op tafel.")
    )
    await visit(worker, s)
    await step("Signaal afgeven")
    await expect(worker.get_by_text("De aanpak in de klas: De stappenkaart ligt")).to_be_visible()

    # S: the evaluation sets the care level; the case page says it in words.
    await open_details(worker, "Evaluatie vastleggen")
    evaluation = form("evaluaties")
    await evaluation.get_by_label("Resultaat voor doel: Lost verhaaltjessommen zelf op").fill(
        "Deels: met de stappenkaart wel, zonder niet"
    )
    await evaluation.get_by_role("radio", name="Zorgniveau wijzigen").check()
    await evaluation.get_by_label("Nieuw zorgniveau").select_option("3")
    await evaluation.get_by_label("Toelichting").fill("Externe deskundige nodig voor rekenen")
    await visit(worker, s)
    await step("Evaluatie vastleggen")
    await expect(worker.get_by_test_id("zorgniveau")).to_contain_text(
        "zorgniveau 3: speciale zorg met interne en externe deskundigen"
    )
    await expect(worker.get_by_test_id("zorgniveau-verloop")).to_contain_text(
        "Externe deskundige nodig voor rekenen"
    )

    await open_details(worker, "OPP vastleggen")
    await step("OPP vastleggen")
    await expect(worker.get_by_test_id("opp")).to_contain_text("vastgelegd door Anouk Jansen")

    await open_details(worker, "Regie wijzigen")
    director = form("regiehouder")
    await director.get_by_label("de IB van de school").check()
    await director.get_by_label("Wie persoonlijk?").select_option(IB)
    await director.get_by_label("Waarom?").fill("De school houdt de lijnen met de ouders")
    await step("Regie vastleggen")
    await expect(worker.get_by_test_id("regiehouder")).to_contain_text(
        "Nu voert de IB van de school (Marieke de Vries) de regie."
    )

    await open_details(worker, "Jeugdhulp is nodig")
    await (
        form("jeugdhulp")
        .get_by_label("Waarom is er jeugdhulp nodig?")
        .fill("Thuis is ondersteuning nodig bij de dagstructuur.")
    )
    await step("Jeugdhulp vastleggen")
    await expect(worker.get_by_test_id("jeugdhulp")).to_contain_text(
        "door Anouk Jansen: Thuis is ondersteuning nodig bij de dagstructuur."
    )
    await expect(worker.get_by_test_id("regiehouder")).to_contain_text(
        "een medewerker van het wijkteam"
    )

    await open_details(worker, "Routebegeleider inschakelen")
    await (
        form("routebegeleider")
        .get_by_label("Waar lopen de school en u samen op vast?")
        .fill("Over de inzet in de klas worden we het niet eens.")
    )
    await step("Routebegeleider inschakelen")
    await reload_until(
        worker,
        lambda: worker.get_by_text("De routebegeleider is 1 keer ingeschakeld"),
        "route coach called in",
    )

    # R: the route stagnates between evaluations: Team NO.
    await open_details(worker, "Aanmelden bij Team NO")
    team_no = form("team-no")
    await team_no.get_by_label("Gemeente van de leerling").select_option("GM0622")
    await team_no.get_by_label("Wachtlijst").check()
    await team_no.get_by_label("Conceptplan van het ondersteuningsteam").fill(
        "Stappenkaart in de klas; de zorgaanbieder start na de wachtlijst."
    )
    await visit(worker, s)
    await step("Aanmelden bij Team NO")
    await expect(worker.get_by_test_id("escalatie")).to_contain_text("Wacht op het besluit")
    await expect(worker.get_by_test_id("escalatie")).to_contain_text("Wachtlijst")
    await visit(worker, s, "casus-alle-stappen")

    # "waarom?" beside the care level explains the agreement in a sentence.
    await worker.get_by_test_id("zorgniveau").get_by_role("link", name="waarom?").click()
    await expect(
        worker.get_by_role("heading", name="De afspraken achter de schermen")
    ).to_be_visible()
    await expect(worker.locator("#s")).to_have_text("Zorgniveaus en OPP")
    await visit(worker, s)

    # Back on her start page the case is hers, with its pupil and school.
    await worker.get_by_role("link", name="Mijn werk").first.click()
    mine = worker.get_by_role("region", name="Casussen die u heeft opgepakt")
    await reload_until(
        worker, lambda: mine.get_by_role("link", name=f"Casus {number}"), "case is hers"
    )
    await expect(
        mine.get_by_role("row").filter(has=worker.get_by_role("link", name=f"Casus {number}"))
    ).to_contain_text("leerling-302")
    await visit(worker, s)


# --- The operator ----------------------------------------------------------------------------


async def test_the_operators_day_messages_mailboxes_wording_and_webhooks(days: Stack) -> None:
    """Kees (operator) checks the messages that were not processed and those not delivered,
    sets the address of the route coaches' and a Team NO mailbox (refused in Dutch without
    the region), changes a message's wording (refused for data the message may not carry,
    then set back to the default), and links a municipality's system: a webhook, a new
    secret, stopped. Only through the portal; every change confirmed in Dutch."""
    s = days
    kees = await person(s.browser, s.base)
    await sign_in(kees, "Kees")
    await expect(
        kees.get_by_role("heading", name="Berichten die niet verwerkt zijn")
    ).to_be_visible()
    await visit(kees, s)

    await kees.get_by_role("link", name="Niet bezorgd").click()
    await expect(
        kees.get_by_role("heading", name="Berichten die niet bezorgd zijn")
    ).to_be_visible()
    await expect(kees.get_by_test_id("niet-bezorgd-totaal")).to_contain_text("wacht")
    await visit(kees, s, "beheer-niet-bezorgd")

    await kees.get_by_role("link", name="Mailboxen").click()
    await expect(
        kees.get_by_role("heading", name="Mailboxen van het samenwerkingsverband")
    ).to_be_visible()
    await visit(kees, s)
    new = kees.locator('form[action="/beheer/mailboxen"]').last
    await new.get_by_label("Welke mailbox?").select_option("team_no")
    await new.get_by_label("E-mailadres").fill("teamno@waterweg.passend.test")
    await new.get_by_role("button", name="Adres opslaan").click()
    await expect(kees.get_by_role("alert")).to_contain_text("Vul de regio van Team NO in")
    await visit(kees, s)
    new = kees.locator('form[action="/beheer/mailboxen"]').last
    await new.get_by_label("Regio van Team NO").fill("waterweg")
    await new.get_by_label("E-mailadres").fill("teamno@waterweg.passend.test")
    await new.get_by_label("Naam in de aanhef").fill("Team NO Waterweg")
    await new.get_by_role("button", name="Adres opslaan").click()
    await expect(kees.get_by_test_id("gedaan")).to_contain_text(
        "Het adres van de mailbox is opgeslagen"
    )
    new = kees.locator('form[action="/beheer/mailboxen"]').last
    await new.get_by_label("Welke mailbox?").select_option("route_coach")
    await new.get_by_label("E-mailadres").fill("rb@waterweg.passend.test")
    await new.get_by_role("button", name="Adres opslaan").click()
    boxes = kees.get_by_test_id("mailboxen")
    await expect(boxes).to_contain_text("Team NO, regio waterweg")
    await expect(boxes).to_contain_text("Routebegeleiding")
    # A typo in an address is corrected in its row.
    await open_details(kees, "Wijzigen: Routebegeleiding")
    row = boxes.get_by_role("row").filter(has_text="Routebegeleiding")
    await row.get_by_label("E-mailadres").fill("routebegeleiding@waterweg.passend.test")
    await row.get_by_role("button", name="Adres opslaan").click()
    await expect(kees.get_by_test_id("mailboxen")).to_contain_text(
        "routebegeleiding@waterweg.passend.test"
    )
    await visit(kees, s, "beheer-mailboxen")

    await kees.get_by_role("link", name="Berichtteksten").click()
    await expect(kees.get_by_test_id("berichtteksten")).to_contain_text(
        "Het bericht dat de aanvraag is opgepakt"
    )
    await visit(kees, s)
    # The link names its message for a screen reader ("Aanpassen: Het bericht …").
    await kees.get_by_role(
        "link", name=re.compile(r"^Aanpassen\W+Het bericht dat de aanvraag is opgepakt$")
    ).click()
    await expect(kees.get_by_test_id("soort-tekst")).to_contain_text("de standaardtekst")
    await expect(kees.get_by_test_id("gegevens")).to_contain_text("het korte nummer van de casus")
    body = kees.get_by_label("Tekst", exact=True)
    await body.fill("$aanhef\n\nDe hulpvraag over $leerling is opgepakt. $link")
    await kees.get_by_role("button", name="Tekst opslaan").click()
    await expect(kees.get_by_role("alert")).to_contain_text(
        "gegevens die dit bericht niet mag bevatten: $leerling"
    )
    await visit(kees, s)
    await kees.get_by_label("Tekst", exact=True).fill(
        "$aanhef\n\nHulpvraag $zaak is op $datum opgepakt. Bekijk hem: $link"
    )
    await kees.get_by_role("button", name="Tekst opslaan").click()
    await expect(kees.get_by_test_id("gedaan")).to_contain_text(
        "De eigen tekst van het bericht is opgeslagen"
    )
    await expect(kees.get_by_test_id("soort-tekst")).to_contain_text("een eigen tekst")
    await visit(kees, s, "beheer-berichttekst")
    await kees.get_by_role("button", name="Standaardtekst gebruiken").click()
    await expect(kees.get_by_test_id("gedaan")).to_contain_text(
        "Het bericht gebruikt weer de standaardtekst"
    )

    await kees.get_by_role("link", name="Koppelingen").click()
    await expect(kees.get_by_role("heading", name="Koppelingen met gemeenten")).to_be_visible()
    await visit(kees, s)
    await kees.get_by_label("Gemeente", exact=True).select_option("GM0622")
    await kees.get_by_label("Webadres van het systeem van de gemeente").fill(
        "https://zaken.vlaardingen.test/passend"
    )
    await kees.get_by_label("Aangemeld bij Team NO").check()
    await kees.get_by_label("Besluit Team NO").check()
    await kees.get_by_label("Geheime sleutel", exact=True).fill("vlaardingen-" * 4)
    await kees.get_by_role("button", name="Koppeling maken").click()
    await expect(kees.get_by_test_id("gedaan")).to_contain_text("De koppeling is gemaakt")
    hooks = kees.get_by_test_id("koppelingen")
    await expect(hooks).to_contain_text("Vlaardingen")
    await expect(hooks).to_contain_text("Aangemeld bij Team NO, Besluit Team NO")
    await expect(hooks).to_contain_text("Actief")
    await open_details(kees, "Wijzigen: Vlaardingen")
    await hooks.get_by_label("Nieuwe geheime sleutel").fill("nieuw-vlaardingen-" * 3)
    await hooks.get_by_role("button", name="Sleutel vervangen").click()
    await expect(kees.get_by_test_id("gedaan")).to_contain_text(
        "De nieuwe geheime sleutel is opgeslagen"
    )
    await expect(kees.get_by_test_id("koppelingen")).to_contain_text("sleutel vervangen op")
    await visit(kees, s, "beheer-koppelingen")
    await open_details(kees, "Wijzigen: Vlaardingen")
    await kees.get_by_role("button", name="Koppeling stoppen").click()
    await expect(kees.get_by_test_id("gedaan")).to_contain_text("De koppeling is gestopt")
    await expect(kees.get_by_test_id("koppelingen")).to_contain_text("Gestopt")
    await visit(kees, s)


# --- Team NO -------------------------------------------------------------------------------


async def test_the_team_no_members_day_agenda_context_decision_stagnation(days: Stack) -> None:
    """Wendy (Team NO Waterweg) reads the agenda item with what she needs to decide (R): the
    pupil's age, the school, what was tried, the plan's goals, sessions and signals; records
    the decision, and reads the stagnation report over a chosen period. The case up to its
    escalation is prepared through the services' APIs (the worker's day is its own test)."""
    s = days
    case_id = await prepared(s, "leerling-303", "Daan Peters", "escalated")
    number = short(case_id)
    team = await person(s.browser, s.base)
    await team.goto("/aanmelden")
    await sign_in(team, "Team NO Waterweg")
    await expect(team.get_by_role("heading", name="Agenda Team NO Waterweg")).to_be_visible()
    link = team.get_by_role("link", name=f"Casus {number}", exact=True)
    await reload_until(team, lambda: link, "case on the agenda")
    item = team.get_by_test_id("agendapunt").filter(has=link)
    await expect(item).to_contain_text("Basisschool De Havenmeester")
    await expect(item).to_contain_text("door Anouk Jansen")
    await expect(item).to_contain_text("Geen overbruggingszorg")
    await expect(item).to_contain_text("Twee ochtenden per week rust op school")
    context = item.get_by_test_id("context")
    await expect(context).to_contain_text(re.compile(r"\d+ jaar"))
    await expect(context).to_contain_text("Acht weken extra leesbeurten en een rustige werkplek.")
    await expect(context).to_contain_text("Wat heeft Daan nodig in de klas?")
    await expect(context).to_contain_text("Leest zelfstandig (gemeten met AVI E4")
    await expect(context).to_contain_text("1 sessie, samen 1,5 uur")
    await expect(context).to_contain_text("De aanpak in de klas")
    # Minimised to what Team NO needs: not the pupil's name.
    await expect(item).not_to_contain_text("Daan Peters")
    await visit(team, s, "team-no-context")

    await link.click()
    await expect(team.get_by_role("heading", level=1)).to_have_text(f"Casus {number} bij Team NO")
    await expect(team.get_by_test_id("context")).to_contain_text("Basisschool De Havenmeester")
    await team.get_by_label("Besluit", exact=True).fill("Zorgaanbieder start binnen vier weken")
    await team.get_by_label("Opdracht").fill("Gemeente regelt de indicatie deze week")
    await team.get_by_label("Uitvoering door").fill("Zorg Y")
    await visit(team, s)
    await team.get_by_role("button", name="Besluit vastleggen").click()
    await wait_until_waiting_is_over(team)
    await expect(team.get_by_test_id("besluit")).to_have_text(
        "Zorgaanbieder start binnen vier weken"
    )
    await expect(team.get_by_text("door Wendy Hoogendoorn")).to_be_visible()
    await visit(team, s)

    await team.get_by_role("link", name="Agenda").first.click()
    await reload_until(team, lambda: team.get_by_role("link", name="Agenda").first, "agenda")
    await expect(team.get_by_role("link", name=f"Casus {number}", exact=True)).to_have_count(0)
    await visit(team, s)

    await team.get_by_role("link", name="Stagnatie").first.click()
    # The period is in Dutch days, as the services count it (just after midnight in the
    # Netherlands UTC is still on yesterday).
    today = local_day(datetime.now(UTC))
    await team.get_by_label("Aangemeld vanaf").fill((today - timedelta(days=7)).isoformat())
    await team.get_by_label("Aangemeld tot en met").fill(today.isoformat())
    await team.get_by_role("button", name="Toon").click()
    await reload_until(
        team, lambda: team.locator("td", has_text="Geen overbruggingszorg"), "stagnation"
    )
    await expect(team.locator(".intro")).to_contain_text("aanmelding")
    await expect(team.locator(".intro")).to_contain_text(" tot en met ")
    await visit(team, s, "team-no-stagnatie-periode")


# --- The coordinator -----------------------------------------------------------------------


async def test_the_coordinators_day_overview_filters_and_csv(days: Stack) -> None:
    """Henk (coordinator, Vlaardingen) reads the overview: lead times, days per phase,
    caseloads by name, open first-contact deadlines with the school's name; filters by
    municipality, worker and school, downloads what he sees as CSV, and opens a case from the
    deadlines. A claimed case waiting for its first contact is prepared through the services'
    APIs."""
    s = days
    case_id = await prepared(s, "leerling-304", "Fleur Jansen", "claimed")
    number = short(case_id)
    coordinator = await person(s.browser, s.base)
    await coordinator.goto("/aanmelden")
    await sign_in(coordinator, "Henk")
    await expect(
        coordinator.get_by_role("heading", name="Doorlooptijden", exact=True)
    ).to_be_visible()
    await expect(
        coordinator.get_by_role("heading", name="Doorlooptijd per fase, na het eerste contact")
    ).to_be_visible()
    await expect(coordinator.get_by_text("Van eerste contact tot startgesprek")).to_be_visible()
    deadlines = coordinator.get_by_role("table", name="Open termijnen eerste contact")
    await reload_until(
        coordinator, lambda: deadlines.get_by_role("link", name=f"Casus {number}"), "deadline"
    )
    row = deadlines.get_by_role("row").filter(
        has=coordinator.get_by_role("link", name=f"Casus {number}")
    )
    await expect(row).to_contain_text("Basisschool De Havenmeester")
    await expect(row).to_contain_text("Anouk Jansen")
    await expect(row).to_contain_text("loopt")
    loads = coordinator.get_by_role("table", name="Caseload per onderwijsondersteuner")
    await expect(loads).to_contain_text("Anouk Jansen")
    await visit(coordinator, s)

    # The municipality is the school's: De Havenmeester's case is Vlaardingen's, not Schiedam's.
    municipality = coordinator.get_by_label("Gemeente", exact=True)
    await municipality.select_option(label="Schiedam")
    await coordinator.get_by_role("button", name="Toon").click()
    await expect(municipality).to_have_value("GM0606")
    deadline_section = coordinator.locator(
        "section", has=coordinator.get_by_role("heading", name="Termijnen eerste contact")
    )
    await expect(deadline_section).to_contain_text("Geen open termijnen die bij de filters passen.")
    await expect(deadline_section.get_by_role("link", name=f"Casus {number}")).to_have_count(0)
    await expect(
        coordinator.get_by_role("link", name="Caseload downloaden (CSV)")
    ).to_have_attribute("href", re.compile(r"[?&]gemeente=GM0606(&|$)"))
    await visit(coordinator, s)

    await municipality.select_option(label="Vlaardingen")
    await coordinator.get_by_label("Onderwijsondersteuner", exact=True).select_option(
        label="Anouk Jansen"
    )
    await coordinator.get_by_label("School", exact=True).select_option(
        label="Basisschool De Havenmeester"
    )
    await coordinator.get_by_role("button", name="Toon").click()
    await expect(coordinator.get_by_role("link", name="Alle filters wissen")).to_be_visible()
    await expect(row).to_be_visible()
    await expect(loads.get_by_role("row")).to_have_count(2)  # the header and Anouk
    await expect(municipality).to_have_value("GM0622")
    await visit(coordinator, s, "overzicht-filters")

    # The CSV is what he sees: it carries every filter chosen.
    termijnen = coordinator.get_by_role("link", name="Termijnen downloaden (CSV)")
    for chosen in ("gemeente=GM0622", "medewerker=ow-anouk", "school=brin-11aa"):
        await expect(termijnen).to_have_attribute("href", re.compile(rf"[?&]{chosen}(&|$)"))
    async with coordinator.expect_download() as download:
        await coordinator.get_by_role("link", name="Termijnen downloaden (CSV)").click()
    saved = await (await download.value).path()
    text = Path(saved).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert any(number in ";".join(r) and "Anouk Jansen" in r for r in rows), rows
    assert all("ow-anouk" not in cell for r in rows for cell in r), rows

    await row.get_by_role("link", name=f"Casus {number}").click()
    await expect(coordinator.get_by_role("heading", level=1)).to_contain_text(f"Casus {number}")
    await expect(coordinator.get_by_test_id("opgepakt")).to_have_text("Anouk Jansen")
    await visit(coordinator, s)

    await coordinator.get_by_role("link", name="Werkvoorraad").click()
    await expect(
        coordinator.get_by_role("heading", name="Wachtrij van de werkeenheid")
    ).to_be_visible()
    await visit(coordinator, s)


# --- The auditor ---------------------------------------------------------------------------


async def test_the_auditors_day_lookup_timeline_reads_and_integrity(days: Stack) -> None:
    """Petra (auditor) looks up a case by the pupil reference, names her purpose (NEN 7513),
    reads its events across services with who did what, shows the logged reads, and runs the
    integrity check of the services' hash chains. The case is prepared through the
    services' APIs up to its first session and signal."""
    s = days
    case_id = await prepared(s, "leerling-305", "Mila de Wit", "supported")
    number = short(case_id)
    auditor = await person(s.browser, s.base)
    await auditor.goto("/aanmelden")
    await sign_in(auditor, "Auditor")
    await expect(auditor.get_by_role("heading", name="Casus inzien")).to_be_visible()
    await visit(auditor, s)

    await auditor.get_by_label("Casusnummer of leerlingnummer").fill("leerling-000")
    await auditor.get_by_label("Waarom ziet u deze casus in?").fill("Klacht van ouders")
    await auditor.get_by_role("button", name="Inzien").click()
    await expect(auditor.get_by_test_id("melding")).to_contain_text("Geen casus gevonden")
    await expect(auditor.get_by_text("0 keer ingezien")).to_have_count(0)
    await visit(auditor, s)

    await auditor.get_by_label("Casusnummer of leerlingnummer").fill("leerling-305")
    await auditor.get_by_label("Waarom ziet u deze casus in?").fill("Klacht van ouders")
    await auditor.get_by_role("button", name="Inzien").click()
    await expect(auditor.get_by_role("heading", level=1)).to_have_text(
        f"Tijdlijn van casus {number}"
    )
    await expect(auditor.get_by_text("Reden van inzage: Klacht van ouders.")).to_be_visible()
    timeline = auditor.get_by_role("region", name="Alle gebeurtenissen").first
    for what in ("Aanvraag ingediend", "Opgepakt", "Startgesprek gevoerd", "Plan vastgelegd"):
        await expect(timeline.get_by_role("cell", name=what).first).to_be_visible()
    submitted = timeline.get_by_role("row").filter(
        has=auditor.get_by_role("cell", name="Aanvraag ingediend", exact=True)
    )
    await expect(submitted.first).to_contain_text("Marieke de Vries")
    claimed = timeline.get_by_role("row").filter(
        has=auditor.get_by_role("cell", name="Opgepakt", exact=True)
    )
    await expect(claimed.first).to_contain_text("Anouk Jansen")
    await expect(auditor.get_by_test_id("stand-toen")).to_have_text("Begeleiding loopt")
    # No mail server here: messages fail; the reason is said in Dutch, not the mailer's.
    for english in ("mail server not reached", "no service token", "Error"):
        await expect(timeline).not_to_contain_text(english)
    await visit(auditor, s, "audit-tijdlijn-leerling")

    await auditor.get_by_role("link", name="Toon ook de inzages").click()
    # Her own reading is among the logged reads, with her name and purpose (NEN 7513).
    mine = auditor.locator("tr.inzage").filter(has_text="Klacht van ouders")
    await expect(mine.first).to_contain_text("Petra van Dijk")
    await visit(auditor, s)

    await auditor.get_by_role("button", name="Controleer of niets is gewijzigd").click()
    checks = auditor.get_by_test_id("controle")
    await expect(checks.locator("li.goed").first).to_contain_text("In orde.", timeout=SLOW)
    await expect(checks.locator("li.fout")).to_have_count(0)
    await visit(auditor, s, "audit-controle")

    # The search box in the header finds the case by its short number; an auditor then
    # names her purpose before she reads it again.
    search = auditor.get_by_label("Zoek een casus op nummer of leerlingnummer")
    await search.fill(number)
    await search.press("Enter")
    await expect(auditor.get_by_label("Casusnummer of leerlingnummer")).to_have_value(number)
    await visit(auditor, s)
    await auditor.get_by_label("Waarom ziet u deze casus in?").fill("Steekproef kwaliteit")
    await auditor.get_by_role("button", name="Inzien").click()
    await expect(auditor.get_by_text("Reden van inzage: Steekproef kwaliteit.")).to_be_visible()
    await visit(auditor, s)


# --- The education specialist --------------------------------------------------------------


async def test_the_education_specialists_day_analysis_of_a_complex_case(days: Stack) -> None:
    """Marleen (education specialist) finds a complex case (several problems at once) that
    Anouk claimed, records her analysis with the school before support starts (W14), and
    sees it in the case's story. The request and the claim are prepared through the
    services' APIs."""
    s = days
    case_id = await prepared(s, "leerling-306", "Yara Smit", "claimed", multiple_problems=True)
    number = short(case_id)
    specialist = await person(s.browser, s.base)
    await specialist.goto("/aanmelden")
    await sign_in(specialist, "Marleen")
    await expect(specialist.get_by_role("heading", name="Mijn werk")).to_be_visible()
    mine = specialist.get_by_role(
        "region", name="Complexe casussen waarvan u de onderwijsspecialist bent"
    )
    await reload_until(
        specialist, lambda: mine.get_by_role("link", name=f"Casus {number}"), "hers as specialist"
    )
    await expect(
        mine.get_by_role("row").filter(has=specialist.get_by_role("link", name=f"Casus {number}"))
    ).to_contain_text("leerling-306")
    await visit(specialist, s, "specialist-werk")

    search = specialist.get_by_label("Zoek een casus op nummer of leerlingnummer")
    await search.fill("leerling-306")
    await search.press("Enter")
    await expect(specialist.get_by_role("heading", level=1)).to_have_text(
        f"Casus {number}: Yara Smit (leerling-306)"
    )
    analysis = specialist.get_by_role("region", name="Analyse van de onderwijsspecialist")
    await reload_until(
        specialist,
        lambda: analysis.get_by_text("de onderwijsspecialist legt eerst een analyse vast"),
        "complex case waits for the analysis",
    )
    await expect(specialist.get_by_test_id("opgepakt")).to_have_text("Anouk Jansen")
    await analysis.get_by_label("Analyse").fill(
        "Leesproblemen en spanning thuis versterken elkaar; eerst rust, dan leesinstructie."
    )
    await visit(specialist, s)
    await specialist.get_by_role("button", name="Analyse vastleggen").click()
    await wait_until_waiting_is_over(specialist)
    await expect(analysis).to_contain_text("Leesproblemen en spanning thuis versterken elkaar")
    await visit(specialist, s, "specialist-analyse")


# --- The privacy officer ----------------------------------------------------------------------


async def test_the_privacy_officers_day_preview_access_export_and_erasure(days: Stack) -> None:
    """Yvonne (privacy officer) looks up a pupil by the school's reference (nothing found
    says so), sees what an erasure would do to each case, what is erased and what is kept
    on which legal ground, downloads the access export (AVG art. 15) in Dutch, then grants
    the erasure on request (AVG art. 17) with who asked, when and why, and sees the pupil
    erased and the case withdrawn. The request and the claim are prepared through the
    services' APIs."""
    s = days
    case_id = await prepared(s, "leerling-307", "Noor Visser", "claimed")
    number = short(case_id)
    officer = await person(s.browser, s.base)
    await officer.goto("/aanmelden")
    await sign_in(officer, "Yvonne")
    await expect(officer.get_by_role("heading", name="Wissen op verzoek")).to_be_visible()
    await expect(officer.get_by_text("Geen verzoeken die op u wachten.")).to_be_visible()
    await visit(officer, s, "privacy-start")

    await officer.get_by_label("Leerlingnummer van de school").fill("leerling-998")
    await officer.get_by_role("button", name="Opzoeken").click()
    await expect(officer.get_by_role("alert")).to_contain_text(
        "Geen leerling met dit leerlingnummer bij uw samenwerkingsverband."
    )
    await visit(officer, s)

    await officer.get_by_label("Leerlingnummer van de school").fill("leerling-307")
    await officer.get_by_role("button", name="Opzoeken").click()
    await expect(officer.get_by_role("heading", level=1)).to_have_text("Leerling leerling-307")
    cases = officer.get_by_test_id("casussen")
    row = cases.get_by_role("row").filter(has=officer.get_by_role("cell", name=number))
    await expect(row).to_contain_text("Basisschool De Havenmeester")
    await expect(row).to_contain_text("Wordt ingetrokken: het traject stopt bij elke dienst")
    await expect(officer.get_by_test_id("wordt-gewist").locator("li").first).to_be_visible()
    kept = officer.get_by_test_id("blijft")
    await expect(kept.locator("li").first).to_contain_text("Grond: ")
    await expect(officer.get_by_role("button", name="Toekennen en wissen")).to_be_visible()
    await visit(officer, s, "privacy-leerling")

    # AVG art. 15: the readable export, in Dutch, names the pupil and the case.
    async with officer.expect_download() as download:
        await officer.get_by_role("link", name="Leesbare versie (HTML)").click()
    saved = await (await download.value).path()
    export = Path(saved).read_text(encoding="utf-8")
    assert '<html lang="nl">' in export, export[:300]
    assert "Gegevens over leerling leerling-307" in export, export[:600]
    assert "Leerling en ouders" in export, export[:600]
    assert "Noor Visser" in export, export[:2000]
    assert f"Casus {number}" in export, export[:2000]
    assert "Aanvraag ingediend" in export or "Aangemeld op" in export, export[:2000]

    # AVG art. 17: who asked, when it came in, on what ground; then erased at once.
    await officer.get_by_label("Wie vroeg erom, en hoe?").fill("Moeder, per brief")
    await expect(officer.get_by_label("Ontvangen op")).to_have_value(
        datetime.now().date().isoformat()
    )
    await expect(officer.get_by_label("Grond van het besluit")).to_have_value("AVG art. 17 lid 1")
    await officer.get_by_label("Grond van het besluit").fill(
        "AVG art. 17 lid 1 sub b: de ouders trekken hun toestemming in."
    )
    await visit(officer, s)
    await officer.get_by_role("button", name="Toekennen en wissen").click()
    await expect(officer.get_by_role("status")).to_contain_text(
        "De leerling is gewist.", timeout=SLOW
    )
    await expect(officer.get_by_test_id("al-gewist")).to_contain_text("Deze leerling is gewist op")
    await expect(officer.get_by_role("heading", name="Wat er gewist is")).to_be_visible()
    await expect(officer.get_by_role("button", name="Toekennen en wissen")).to_have_count(0)
    await expect(officer.get_by_text("gevraagd door Moeder, per brief")).to_be_visible()
    await expect(officer.get_by_text("toegekend door Yvonne")).to_be_visible()
    await reload_until(
        officer,
        lambda: officer.get_by_test_id("casussen").get_by_role("cell", name="Ingetrokken"),
        "case withdrawn by the erasure",
    )
    await visit(officer, s, "privacy-gewist")

    # Issue 20: the school's number went with the pupil; Passend's own name still finds
    # the erased pupil, and there is nothing to erase twice.
    pseudonym = await officer.get_by_test_id("passend-naam").inner_text()
    assert pseudonym.startswith("lln-"), pseudonym
    await officer.get_by_role("link", name="Terug naar wissen op verzoek").click()
    await officer.get_by_label("Leerlingnummer van de school").fill("leerling-307")
    await officer.get_by_role("button", name="Opzoeken").click()
    await expect(officer.get_by_role("alert")).to_contain_text(
        "het leerlingnummer van de school met de leerling gewist"
    )
    await officer.get_by_label("Leerlingnummer van de school").fill(pseudonym)
    await officer.get_by_role("button", name="Opzoeken").click()
    await expect(officer.get_by_test_id("al-gewist")).to_be_visible()
    await visit(officer, s)


# --- The route coach --------------------------------------------------------------------------


async def test_the_route_coachs_day_called_in_invited_and_the_case(days: Stack) -> None:
    """Jeroen (route coach) was called in by the IB because school and support worker are
    stuck (W29), and Anouk invited him to a meeting about it (C): his start page shows the
    meeting with its goal, who invited him and the pupil, and opens the case, which says
    the route coach was called in; the case is listed there as one he was called into, and
    the search box finds it by the pupil's name. The
    request, the claim, the call and the invitation are prepared through the services' APIs
    as the IB's and Anouk's portals send them."""
    s = days
    case_id = await prepared(s, "leerling-308", "Daan Mulder", "claimed")
    meeting_on = datetime.now(UTC).date() + timedelta(days=7)
    async with httpx.AsyncClient(timeout=15) as http:
        route = Route(http, s.urls)
        route.case_id = case_id
        await route.post(
            "assignment",
            "/cases/{case}/route-coach",
            {"reason": "School en onderwijsondersteuner zijn het oneens over de inzet."},
            auth=route.ib,
        )
        await route.trajectory(lambda v: v["consent"] is not None, "trajectory opened")
        await route.post(
            "trajectory",
            "/cases/{case}/invitations",
            {
                "invitation_id": str(uuid4()),
                "adviser_id": "rb-jeroen",
                "goal": "Samen kiezen hoe de inzet in de klas verdergaat.",
                "occasion": "warning_sign",
                "meeting_on": meeting_on.isoformat(),
            },
        )
    coach = await person(s.browser, s.base)
    await coach.goto("/aanmelden")
    await sign_in(coach, "Jeroen")
    await expect(
        coach.get_by_role("heading", name="Uitnodigingen voor een gesprek")
    ).to_be_visible()
    invitation = coach.get_by_test_id("uitnodiging").filter(has_text="Daan Mulder")
    await reload_until(coach, lambda: invitation, "invitation on the start page")
    await expect(invitation.get_by_role("heading")).to_contain_text(
        re.compile(rf"^Gesprek op {meeting_on.day} .* over Daan Mulder$")
    )
    await expect(invitation).to_contain_text("Samen kiezen hoe de inzet in de klas verdergaat.")
    await expect(invitation).to_contain_text("Knipperlichtmoment")
    await expect(invitation).to_contain_text("Anouk Jansen, op ")
    called_in = coach.get_by_test_id("ingeschakeld")
    await expect(called_in.get_by_role("link", name=f"Casus {short(case_id)}")).to_be_visible()
    await expect(called_in).to_contain_text("leerling-308")
    await visit(coach, s, "routebegeleider-uitnodigingen")

    await invitation.get_by_role("link", name="De casus van Daan Mulder bekijken").click()
    await expect(coach.get_by_role("heading", level=1)).to_have_text(
        f"Casus {short(case_id)}: Daan Mulder (leerling-308)"
    )
    await expect(coach.get_by_test_id("opgepakt")).to_have_text("Anouk Jansen")
    await expect(coach.get_by_text("Basisschool De Havenmeester").first).to_be_visible()
    await expect(coach.get_by_test_id("routebegeleider")).to_have_text(
        "De routebegeleider is 1 keer ingeschakeld voor deze casus."
    )
    await visit(coach, s, "routebegeleider-casus")

    # Later, without the invitation at hand: the search box finds the case by the name.
    await coach.goto("/uitnodigingen")
    await coach.get_by_label("Zoek een casus op nummer of leerlingnummer, of op de naam").fill(
        "daan mul"
    )
    await coach.get_by_role("button", name="Zoeken").click()
    await expect(coach.get_by_role("heading", level=1)).to_have_text(
        f"Casus {short(case_id)}: Daan Mulder (leerling-308)"
    )


# --- The SWV administrator --------------------------------------------------------------------


async def test_the_swv_administrators_day_people_register_and_deregister(days: Stack) -> None:
    """Linda (SWV administrator) reads who works with Passend, by name, role and place;
    registers a new teacher (refused in Dutch for a sign-in name with a space), sees the
    confirmation and the new row, and deregisters her again (what she did stays kept)."""
    s = days
    admin = await person(s.browser, s.base)
    await admin.goto("/aanmelden")
    await sign_in(admin, "Linda")
    await expect(admin.get_by_role("heading", name="Medewerkers", level=1)).to_be_visible()
    people = admin.get_by_test_id("persoon")
    anouk = people.filter(has_text="Anouk Jansen")
    await expect(anouk).to_contain_text("Onderwijsondersteuner")
    await expect(anouk).to_contain_text("Actief")
    marieke = people.filter(has_text="Marieke de Vries")
    await expect(marieke).to_contain_text("Basisschool De Havenmeester")
    await visit(admin, s, "beheer-medewerkers")

    await admin.get_by_role("link", name="Medewerker toevoegen").click()
    await expect(admin.get_by_role("heading", name="Medewerker toevoegen")).to_be_visible()
    await visit(admin, s)
    await admin.get_by_label("Naam", exact=True).fill("Fatima el Amrani")
    await admin.get_by_label("Inlognaam").fill("lk fatima")
    await admin.get_by_label("E-mailadres op het werk").fill(
        "fatima.elamrani@havenmeester.example.nl"
    )
    await admin.get_by_label("Rol", exact=True).select_option(label="Leerkracht")
    await admin.get_by_label("School (niet verplicht)", exact=True).select_option(
        label="Basisschool De Havenmeester"
    )
    await admin.get_by_label("Groepen").fill("groep 7")
    await admin.get_by_role("button", name="Toevoegen").click()
    # The summary above the form links to the field, which says it again.
    await expect(
        admin.get_by_role("link", name="Een inlognaam heeft geen spaties.")
    ).to_be_visible()
    await expect(admin.get_by_label("Inlognaam")).to_have_accessible_description(
        re.compile("Een inlognaam heeft geen spaties.")
    )
    await expect(admin.get_by_label("Naam", exact=True)).to_have_value("Fatima el Amrani")
    await visit(admin, s)
    await admin.get_by_label("Inlognaam").fill("lk-fatima")
    await admin.get_by_role("button", name="Toevoegen").click()
    await expect(admin.get_by_test_id("klaar")).to_have_text(
        "Fatima el Amrani is toegevoegd aan het personeelsoverzicht.", timeout=SLOW
    )
    fatima = people.filter(has_text="Fatima el Amrani")
    await expect(fatima).to_contain_text("Leerkracht")
    await expect(fatima).to_contain_text("Basisschool De Havenmeester")
    await expect(fatima).to_contain_text("groep 7")
    await expect(fatima).to_contain_text("Actief")
    await visit(admin, s, "beheer-toegevoegd")

    await fatima.get_by_role("link", name="Uitschrijven").click()
    await expect(admin.get_by_role("heading", level=1)).to_have_text(
        "Fatima el Amrani uitschrijven"
    )
    await visit(admin, s)
    await admin.get_by_role("button", name="Uitschrijven").click()
    await expect(admin.get_by_test_id("klaar")).to_have_text(
        "Fatima el Amrani is uitgeschreven. Wat Fatima el Amrani deed, blijft bewaard.",
        timeout=SLOW,
    )
    await expect(people.filter(has_text="Fatima el Amrani")).to_contain_text("Uitgeschreven")
    await visit(admin, s)
