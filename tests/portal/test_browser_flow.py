"""In Chromium on the running services: request, consent, claim, plan, escalation, Team NO."""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, async_playwright, expect

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import ISSUER, auth_env, issuer_key
from tests.conftest import create_database
from tests.portal.browser import (
    TABLET,
    check,
    launch,
    person,
    reload_until,
    sign_in,
    wait_until_ready,
)

# A whole stack in a browser, beside the rest of the suite on two cores: minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "trajectory", "notifications")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SLOW = 60_000  # ms: a read model may take a few seconds on a busy two-core machine


@contextmanager
def processes(commands: dict[str, tuple[list[str], dict[str, str]]], logs: Path) -> Iterator[None]:
    """Each command as an OS process; SIGTERM at the end, kill if it lingers."""
    running: list[subprocess.Popen[bytes]] = []
    try:
        for name, (argv, env) in commands.items():
            out = (logs / f"{name}.log").open("wb")
            running.append(
                subprocess.Popen(
                    argv, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
                )
            )
        yield
    finally:
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def stack(
    database: Database, broker: Broker
) -> tuple[dict[str, tuple[list[str], dict[str, str]]], str, dict[str, str]]:
    commands: dict[str, tuple[list[str], dict[str, str]]] = {}
    urls: dict[str, str] = {}
    for name in SERVICES:
        port = free_port()
        env = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_portal_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(port),
            "LOG_FORMAT": "console",
        }
        if name == "assignment":
            env[ENV_VAR] = str(DEV_FILE)
        if name == "notifications":
            # No mail server here: messages wait in the queue; the portal only reads.
            env["NOTIFICATIONS_SMTP_PORT"] = str(free_port())
            # The operator's day links a municipality's system: its secret is sealed.
            env["NOTIFICATIONS_WEBHOOK_SECRET_KEY"] = base64.b64encode(
                secrets.token_bytes(32)
            ).decode()
        commands[name] = ([sys.executable, "-m", f"passend_{name}"], env)
        urls[name] = f"http://127.0.0.1:{port}"
    portal_port = free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    commands["portal"] = (
        [sys.executable, "-m", "passend_portal"],
        {
            **{f"PORTAL_{name.upper()}_URL": url for name, url in urls.items()},
            "PORTAL_HTTP_PORT": str(portal_port),
            "PORTAL_PUBLIC_URL": portal_url,
            "PORTAL_SESSION_SECRET": secrets.token_hex(32),
            "PORTAL_DEV_ISSUER_DIR": str(issuer_key().pem_path.parent),
            "PORTAL_TOKEN_ISSUER": ISSUER,
        },
    )
    health = {name: f"{url}/health/ready" for name, url in urls.items()}
    health["portal"] = f"{portal_url}/health/live"
    return commands, portal_url, health


async def wait_until_waiting_is_over(page: Page) -> None:
    """The case page polls (htmx) until the services show the change, then reloads itself."""
    await expect(page.locator(".melding.bezig")).to_have_count(0, timeout=SLOW)


async def test_from_request_to_team_no_decision_on_screen(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    commands, base, health = await stack(database, broker)
    checked: list[str] = []
    with processes(commands, tmp_path):
        await wait_until_ready(health, tmp_path)

        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                await run_the_route(browser, base, checked)
            finally:
                await browser.close()
    assert len(checked) >= 15, checked


async def run_the_route(browser, base: str, checked: list[str]) -> None:
    # --- The IB submits a request; a W5 refusal shows next to its question first. ---
    ib = await person(browser, base)
    await ib.goto("/aanmelden")
    await check(ib, "aanmelden", checked=checked)
    await sign_in(ib, "Marieke (IB")
    await expect(ib.get_by_role("heading", name="Aanvragen van de school")).to_be_visible()
    await check(ib, checked=checked)
    await ib.get_by_role("link", name="Nieuwe aanvraag indienen").click()
    await ib.get_by_label("Kenmerk van de leerling").fill("leerling-042")
    await ib.get_by_label("Naam van de leerling").fill("Noor Visser")
    await ib.get_by_label("Geboortedatum").fill("2017-05-12")
    await ib.locator("#f-pupil-parents-0-name").fill("M. Visser")
    await ib.locator("#f-pupil-parents-0-email").fill("m.visser@example.nl")
    await ib.get_by_label("Wat heeft de leerling nodig?").fill(
        "Leest traag en heeft moeite met technisch lezen."
    )
    await ib.get_by_label("Wat heeft de school al geprobeerd?").fill(
        "Acht weken extra leesbeurten en een rustige werkplek."
    )
    await ib.get_by_label("Waarom loopt de school vast?").fill(
        "Geen groei in lezen; de leerkracht weet het niet meer."
    )
    await ib.get_by_label("Onderwijsondersteuner").select_option("ow-anouk")
    await check(ib, "aanvraag-formulier", checked=checked)
    await ib.get_by_label("Ja, het gaat om begeleiding van de school als geheel").check()
    await ib.get_by_role("button", name="Aanvraag indienen").click()
    await expect(ib.locator("#f-school_organisation-fout")).to_contain_text("schoolorganisatie")
    await check(ib, "aanvraag-fout-w5", checked=checked)
    await ib.get_by_label("Ja, het gaat om begeleiding van de school als geheel").uncheck()
    await ib.get_by_role("button", name="Aanvraag indienen").click()
    await expect(ib.get_by_role("heading", name="Stand van zaken")).to_be_visible(timeout=SLOW)
    case_id = re.search(r"/zaken/([0-9a-f-]{36})", ib.url).group(1)  # type: ignore[union-attr]
    await expect(ib.get_by_test_id("stand")).to_contain_text("Ingediend")

    # --- The IB sends the parent a personal link (W10). ---
    await ib.get_by_role("button", name="Link maken").click()
    link = await ib.get_by_test_id("ouderlink").get_attribute("href")
    assert link and link.startswith(f"{base}/toestemming/")
    await check(ib, "ouderlink", checked=checked)

    # --- The parent confirms through the link, without signing in. ---
    parent = await person(browser, base)
    await parent.goto(link)
    await expect(parent.get_by_role("heading", name="Wat wordt er gevraagd?")).to_be_visible()
    await check(parent, "toestemming-ouder", checked=checked)
    await parent.get_by_label("Ja, ik geef toestemming").check()
    await parent.get_by_role("button", name="Antwoord versturen").click()
    await expect(parent.get_by_test_id("bevestiging")).to_contain_text("toestemming gegeven")
    await check(parent, "toestemming-bedankt", checked=checked)
    await parent.goto(link)
    await expect(parent.get_by_text("Deze link werkt niet meer")).to_be_visible()

    await ib.goto(f"/zaken/{case_id}")
    await reload_until(
        ib, lambda: ib.get_by_test_id("toestemming").get_by_text("Gegeven"), "consent shown"
    )
    await check(ib, "aanvraag-ib", checked=checked)

    # --- The worker finds it in the inbox, sees ranked colleagues, claims, contacts. ---
    worker = await person(browser, base)
    await sign_in(worker, "Anouk")
    await reload_until(
        worker, lambda: worker.get_by_role("link", name=f"Casus {case_id[:8]}"), "case in inbox"
    )
    await check(worker, "werk-inbox", checked=checked)
    await worker.get_by_role("link", name=f"Casus {case_id[:8]}").first.click()
    # W24: the requested area in Dutch, and Anouk first: she has it and knows the school.
    suggestions = worker.locator("#suggesties")
    await expect(suggestions).to_contain_text(
        "Gevraagde expertise: Lezen en spelling", timeout=SLOW
    )
    await expect(suggestions.locator("li").first).to_contain_text(
        "Anouk Jansen: heeft de gevraagde expertise (lezen en spelling); kent de school"
    )
    await check(worker, "casus-oppakken", checked=checked)
    await worker.get_by_role("button", name="Casus oppakken").click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("opgepakt")).to_have_text("Anouk Jansen")
    await worker.get_by_role("button", name="Eerste contact vastleggen").click()
    await expect(worker.get_by_role("heading", name="Eerste contact met de school")).to_have_count(
        0
    )

    # --- Her case is in "Mijn casussen"; the search box finds it by its short number. ---
    await worker.get_by_role("link", name="Mijn casussen").click()
    mine = worker.get_by_role("region", name="Casussen die u heeft opgepakt")
    listed = mine.get_by_role("link", name=f"Casus {case_id[:8]}")
    await reload_until(worker, lambda: listed, "case in Mijn casussen")
    row = mine.get_by_role("row").filter(
        has=worker.get_by_role("link", name=f"Casus {case_id[:8]}", exact=True)
    )
    await expect(row).to_contain_text("leerling-042")
    await expect(row).to_contain_text("Basisschool De Havenmeester")
    await expect(row).to_contain_text(re.compile("Opgepakt|Traject loopt"))
    await check(worker, checked=checked)
    search = worker.get_by_label("Zoek een casus op nummer of leerlingnummer")
    await search.fill("onbekend-9")
    await search.press("Enter")
    await expect(worker.get_by_test_id("niet-gevonden")).to_contain_text(
        "Geen casus gevonden met „onbekend-9”"
    )
    await check(worker, checked=checked)
    await search.fill(case_id[:8])
    await search.press("Enter")
    await expect(worker.get_by_role("button", name="Startgesprek vastleggen")).to_be_visible()

    # --- Start conversation, plan, start of support, a session (W6, W15, W10, W23). ---
    await worker.get_by_label("De vraag achter de vraag").fill(
        "Wat heeft Noor nodig om zelfstandig te lezen?"
    )
    await worker.get_by_role("button", name="Startgesprek vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await worker.locator("#f-plan-goals-0-description").fill("Leest zelfstandig een boek")
    await worker.locator("#f-plan-goals-0-measure").fill("AVI E4")
    await worker.get_by_role("button", name="Plan vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("plan")).to_contain_text("Plan versie 1")
    await worker.get_by_role("button", name="Begeleiding starten").click()
    await wait_until_waiting_is_over(worker)
    await worker.get_by_role("button", name="Sessie vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("sessies")).to_contain_text("1 uur")

    # --- The evaluation escalates to Team NO (W21, R). ---
    await worker.get_by_text("Evaluatie vastleggen", exact=True).first.click()
    # The evaluation's own form: the case page also offers Team NO between evaluations.
    evaluation = worker.locator(f'form[action="/zaken/{case_id}/evaluaties"]')
    await evaluation.get_by_label("Resultaat voor doel: Leest zelfstandig een boek").fill(
        "Geen groei"
    )
    await evaluation.get_by_label("Aanmelden bij Team NO (de route loopt vast)").check()
    await evaluation.get_by_label("Gemeente van de leerling").select_option("GM0622")
    await evaluation.get_by_label("Wachtlijst").check()
    await evaluation.get_by_label("Conceptplan van het ondersteuningsteam").fill(
        "Overbrugging op school tot er plek is bij de zorgaanbieder."
    )
    await check(worker, checked=checked)
    await worker.get_by_role("button", name="Evaluatie vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("escalatie")).to_contain_text("Wacht op het besluit")
    # A moment at which the case is escalated and not yet decided, for the as-of view.
    escalated = (datetime.now(AMSTERDAM) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    await check(worker, "casus-traject", checked=checked)
    tablet = await person(browser, base, TABLET)
    await sign_in(tablet, "Anouk")
    await tablet.goto(f"/zaken/{case_id}")
    await check(tablet, "casus-traject-tablet", checked=checked)

    # --- Team NO sees the reasons and the draft plan, and decides (R). ---
    team = await person(browser, base)
    await sign_in(team, "Team NO Waterweg")
    await reload_until(
        team, lambda: team.get_by_role("link", name=f"Casus {case_id[:8]}"), "case on agenda"
    )
    # Other tests of this session may have put cases on the agenda too: look at this one's.
    item = team.locator("article").filter(
        has=team.get_by_role("link", name=f"Casus {case_id[:8]}", exact=True)
    )
    await expect(item.get_by_text("Overbrugging op school")).to_be_visible()
    await expect(item.get_by_text("Wachtlijst")).to_be_visible()
    await check(team, "team-no-agenda", checked=checked)
    await team.get_by_role("link", name=f"Casus {case_id[:8]}", exact=True).click()
    await team.get_by_label("Besluit").fill("Overbruggingszorg op school")
    await team.get_by_label("Opdracht").fill("Wijkteam regelt zorg binnen twee weken")
    await team.get_by_label("Uitvoering door").fill("Zorg X")
    await check(team, checked=checked)
    await team.get_by_role("button", name="Besluit vastleggen").click()
    await wait_until_waiting_is_over(team)
    await expect(team.get_by_test_id("besluit")).to_have_text("Overbruggingszorg op school")
    await check(team, "team-no-besluit", checked=checked)
    await team.goto("/team-no/stagnatie")
    await reload_until(team, lambda: team.locator("td", has_text="Wachtlijst"), "stagnation")
    await check(team, "stagnatie", checked=checked)

    await worker.goto(f"/zaken/{case_id}")
    await expect(worker.get_by_test_id("escalatie")).to_contain_text("Zorg X")

    # --- The auditor reads the case's timeline and as-of view; the coordinator's overview. ---
    auditor = await person(browser, base)
    await sign_in(auditor, "Auditor")
    await auditor.get_by_label("Casusnummer").fill("0badc0de")
    await auditor.get_by_label("Waarom ziet u deze casus in?").fill("Steekproef kwaliteit")
    await auditor.get_by_role("button", name="Inzien").click()
    await expect(auditor.get_by_test_id("melding")).to_have_text(
        "Geen casus gevonden met nummer „0badc0de”."
    )
    await check(auditor, checked=checked)
    # The short number shown everywhere opens the case.
    await auditor.get_by_label("Casusnummer").fill(case_id[:8])
    await auditor.get_by_label("Waarom ziet u deze casus in?").fill("Steekproef kwaliteit")
    await check(auditor, checked=checked)
    await auditor.get_by_role("button", name="Inzien").click()
    await expect(auditor.get_by_role("cell", name="Aanvraag ingediend").first).to_be_visible()
    await expect(auditor.get_by_test_id("stand-toen")).to_have_text("Begeleiding loopt")
    await check(auditor, "audit-tijdlijn", checked=checked)
    await auditor.get_by_label("Zoals op").fill(escalated)
    await auditor.get_by_role("button", name="Toon dit moment").click()
    await expect(auditor.get_by_test_id("stand-toen")).to_have_text("Aangemeld bij Team NO")

    coordinator = await person(browser, base)
    await sign_in(coordinator, "Henk")
    await expect(
        coordinator.get_by_role("heading", name="Doorlooptijden", exact=True)
    ).to_be_visible()
    await check(coordinator, "overzicht-coordinator", checked=checked)
