"""W10 in Chromium: consent by e-mail end to end, from the IB's request to the parent's answer.

The services, the portal and an SMTP sink run as on `make up`; nothing is registered by
hand. The IB types the parent's address into the request and asks by personal link; the
notifications service asks intake for that parent of that case and mails the link; the
parent opens the link from the `.eml` file and answers; the IB's page shows the answer.
For consent, refusal, and a withdrawal later through the link the confirmation e-mail
carries (the running trajectory pauses). A parent without an address: the IB's page says
in Dutch that the e-mail did not arrive and shows the link to hand over, and the
coordinator finds it in the list of messages that did not arrive; the IB then adds the
parent's address on the case (W10) and asks again, and the e-mail arrives there.
"""

from __future__ import annotations

import email
import email.policy
import re
import secrets
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.mailsink import mail_sink
from passend_devstack.test_tokens import ISSUER, auth_env, issuer_key, token_for
from passend_devstack.waiting import eventually
from tests.conftest import create_database
from tests.portal.browser import check, launch, person, reload_until, sign_in, wait_until_ready
from tests.portal.test_browser_flow import SLOW, processes, wait_until_waiting_is_over

# A whole stack in a browser, beside the rest of the suite on two cores: minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SERVICES = ("intake", "assignment", "trajectory", "notifications")
SWV = "swv-waterweg"
Commands = dict[str, tuple[list[str], dict[str, str]]]


async def stack(
    database: Database, broker: Broker, mail_env: dict[str, str], tokens: Path
) -> tuple[Commands, str, dict[str, str]]:
    """The four services and the portal as `make up` wires them: notifications mails through
    the sink and asks intake for parents with a service token of the SWV."""
    tokens.mkdir()
    (tokens / f"{SWV}.jwt").write_text(
        token_for(Role.SERVICE, SWV, subject="service:notifications")
    )
    ports = {name: free_port() for name in (*SERVICES, "portal")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    commands: Commands = {}
    for name in SERVICES:
        env = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_mail_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(ports[name]),
            "LOG_FORMAT": "console",
        }
        if name == "assignment":
            env[ENV_VAR] = str(DEV_FILE)
        if name == "notifications":
            env |= {
                **mail_env,
                "NOTIFICATIONS_INTAKE_URL": urls["intake"],
                "NOTIFICATIONS_SERVICE_TOKENS": str(tokens),
                "NOTIFICATIONS_PARENT_LINK_BASE": f"{urls['portal']}/toestemming",
                "NOTIFICATIONS_CASE_LINK_BASE": f"{urls['portal']}/zaken",
                "NOTIFICATIONS_POLL_SECONDS": "0.2",
                "NOTIFICATIONS_BACKOFF_BASE_SECONDS": "1",
            }
        commands[name] = ([sys.executable, "-m", f"passend_{name}"], env)
    commands["portal"] = (
        [sys.executable, "-m", "passend_portal"],
        {
            **{f"PORTAL_{name.upper()}_URL": urls[name] for name in SERVICES},
            "PORTAL_HTTP_PORT": str(ports["portal"]),
            "PORTAL_PUBLIC_URL": urls["portal"],
            "PORTAL_SESSION_SECRET": secrets.token_hex(32),
            "PORTAL_DEV_ISSUER_DIR": str(issuer_key().pem_path.parent),
            "PORTAL_TOKEN_ISSUER": ISSUER,
        },
    )
    health = {name: f"{urls[name]}/health/ready" for name in SERVICES}
    health["portal"] = f"{urls['portal']}/health/live"
    return commands, urls["portal"], health


def read_mails(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


async def mail_to(folder: Path, address: str, subject: str) -> EmailMessage:
    """The one e-mail to ``address`` whose subject starts with ``subject``, once it is there."""

    async def arrived() -> EmailMessage | None:
        found = [
            m
            for m in read_mails(folder)
            if m["To"] == address and str(m["Subject"]).startswith(subject)
        ]
        assert len(found) <= 1, f"{len(found)} copies of {subject!r} to {address}"
        return found[0] if found else None

    return await eventually(arrived, timeout=90, interval=0.3, what=f"{subject!r} to {address}")


def link_in(mail: EmailMessage, base: str) -> str:
    body = mail.get_content()
    match = re.search(re.escape(base) + r"/toestemming/[A-Za-z0-9_-]{20,100}", body)
    assert match, body
    return match.group(0)


async def submit(ib: Page, pupil_ref: str, name: str, parent: str, contact: str) -> str:
    """The IB's request through the form: the pupil and one parent (an address or a phone)."""
    await ib.goto("/school/aanvraag")
    await ib.get_by_label("Kenmerk van de leerling").fill(pupil_ref)
    await ib.get_by_label("Naam van de leerling").fill(name)
    await ib.get_by_label("Geboortedatum").fill("2017-05-12")
    await ib.locator("#f-pupil-parents-0-name").fill(parent)
    field = "email" if "@" in contact else "phone"
    await ib.locator(f"#f-pupil-parents-0-{field}").fill(contact)
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
    await ib.get_by_role("button", name="Aanvraag indienen").click()
    await expect(ib.get_by_role("heading", name="Stand van zaken")).to_be_visible(timeout=SLOW)
    found = re.search(r"/zaken/([0-9a-f-]{36})", ib.url)
    assert found, ib.url
    return found.group(1)


async def ask_by_link(ib: Page, case_id: str) -> None:
    await ib.goto(f"/zaken/{case_id}")
    await ib.get_by_role("button", name="Link maken").click()
    await expect(ib.get_by_role("heading", name="Links voor de ouders")).to_be_visible()


async def consent_shows(ib: Page, case_id: str, status: str) -> None:
    await ib.goto(f"/zaken/{case_id}")
    await reload_until(
        ib, lambda: ib.get_by_test_id("toestemming").get_by_text(status), f"consent {status}"
    )


async def test_w10_consent_refusal_and_withdrawal_by_e_mail_link_in_chromium(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    checked: list[str] = []
    with mail_sink(tmp_path / "mail", port=free_port()) as sink:
        commands, base, health = await stack(
            database, broker, dict(sink.env()), tmp_path / "tokens"
        )
        with processes(commands, tmp_path):
            await wait_until_ready(health, tmp_path)

            async with async_playwright() as playwright:
                browser = await launch(playwright)
                try:
                    await the_parents_answer_by_mail(browser, base, sink.folder, checked)
                finally:
                    await browser.close()
        mails = read_mails(sink.folder)
    # Every message once: no Message-ID twice in the sink.
    ids = [str(m["Message-ID"]) for m in mails]
    assert len(ids) == len(set(ids)), ids
    assert len(checked) >= 6, checked


async def the_parents_answer_by_mail(
    browser: Browser, base: str, folder: Path, checked: list[str]
) -> None:
    ib = await person(browser, base)
    await sign_in(ib, "Marieke (IB")
    await expect(ib.get_by_role("heading", name="Aanvragen van de school")).to_be_visible()
    noor = await submit(ib, "leerling-n01", "Noor Visser", "J. de Wit", "noor.thuis@ouders.test")
    daan = await submit(ib, "leerling-d02", "Daan Bakker", "P. Smit", "daan.thuis@ouders.test")
    sem = await submit(ib, "leerling-s03", "Sem Jansen", "A. Jansen", "0612345678")

    # --- Consent: the e-mail carries the parent's own link; the parent says yes. ---
    await ask_by_link(ib, noor)
    asked = await mail_to(folder, "noor.thuis@ouders.test", "Uw toestemming gevraagd")
    body = asked.get_content()
    assert "Noor" in asked["Subject"] and body.startswith("Beste J. de Wit,")
    # No more of the child than needed (the link's random port may hold any digits).
    words = re.sub(r"https?://\S+", "", body)
    assert "Visser" not in body and "2017" not in words and "12 mei" not in words
    link = link_in(asked, base)
    parent = await person(browser, base)
    await parent.goto(link)
    await expect(parent.get_by_test_id("kind")).to_have_text("Noor")
    await expect(parent.get_by_test_id("school")).not_to_be_empty()
    await check(parent, "toestemming-ouder-mail", checked=checked)
    await parent.get_by_label("Ja, ik geef toestemming").check()
    await parent.get_by_role("button", name="Antwoord versturen").click()
    await expect(parent.get_by_test_id("bevestiging")).to_contain_text("toestemming gegeven")
    await check(parent, checked=checked)
    await consent_shows(ib, noor, "Gegeven")
    await check(ib, checked=checked)

    # --- Refusal: another pupil's parent, also `ouder-1`, says no through their own link. ---
    await ask_by_link(ib, daan)
    asked_daan = await mail_to(folder, "daan.thuis@ouders.test", "Uw toestemming gevraagd")
    assert "Daan" in asked_daan["Subject"] and "Noor" not in asked_daan.get_content()
    assert link_in(asked_daan, base) != link
    other = await person(browser, base)
    await other.goto(link_in(asked_daan, base))
    await expect(other.get_by_test_id("kind")).to_have_text("Daan")
    await other.get_by_label("Nee, ik geef geen toestemming").check()
    await other.get_by_role("button", name="Antwoord versturen").click()
    await expect(other.get_by_test_id("bevestiging")).to_contain_text("geen toestemming")
    await consent_shows(ib, daan, "Geweigerd")

    # --- No address: the IB's page says so in Dutch and shows the link to hand over. ---
    await ask_by_link(ib, sem)
    await ib.goto(f"/zaken/{sem}")
    await reload_until(ib, lambda: ib.get_by_test_id("niet-bezorgd"), "undelivered shown")
    await expect(ib.get_by_test_id("niet-bezorgd")).to_contain_text(
        "Er is geen e-mailadres van deze ouder bekend."
    )
    await check(ib, "toestemming-niet-bezorgd", checked=checked)
    await ib.get_by_role("link", name="Link tonen om te overhandigen").click()
    handed = await ib.get_by_test_id("ouderlink").get_attribute("href")
    assert handed and handed.startswith(f"{base}/toestemming/")
    await check(ib, checked=checked)
    coordinator = await person(browser, base)
    await sign_in(coordinator, "Henk")
    await reload_until(
        coordinator,
        lambda: coordinator.get_by_test_id("niet-bezorgd").get_by_role(
            "link", name=f"Casus {sem[:8]}"
        ),
        "the coordinator's list of messages that did not arrive",
    )
    await expect(coordinator.get_by_test_id("niet-bezorgd")).to_contain_text(
        "Er is geen e-mailadres"
    )
    await check(coordinator, checked=checked)

    # --- The address was missing: the IB adds it and asks again; now the e-mail arrives. ---
    await ib.goto(f"/zaken/{sem}")
    fix = ib.get_by_test_id("contact-corrigeren")
    await fix.get_by_label("Welke ouder?").select_option(label="A. Jansen (nu: 0612345678)")
    await fix.get_by_label("E-mailadres").fill("a.jansen@ouders.test")
    await fix.get_by_label("Telefoonnummer").fill("0612345678")
    await fix.get_by_role("button", name="Contactgegevens opslaan").click()
    await wait_until_waiting_is_over(ib)
    await expect(ib.get_by_test_id("gedaan")).to_contain_text(
        "De contactgegevens van de ouder zijn gecorrigeerd"
    )
    await check(ib, checked=checked)
    await ask_by_link(ib, sem)
    reached = await mail_to(folder, "a.jansen@ouders.test", "Uw toestemming gevraagd")
    assert "Sem" in reached["Subject"] and reached.get_content().startswith("Beste A. Jansen,")
    answer = await person(browser, base)
    await answer.goto(link_in(reached, base))
    await expect(answer.get_by_test_id("kind")).to_have_text("Sem")

    # --- Withdrawal: support runs for Noor; the confirmation e-mail's link withdraws. ---
    await support_runs(browser, base, noor)
    given = await mail_to(folder, "noor.thuis@ouders.test", "Bevestiging")
    withdrawal = link_in(given, base)
    assert withdrawal != link
    await parent.goto(withdrawal)
    await expect(parent.get_by_role("heading", name="Toestemming intrekken")).to_be_visible()
    await expect(parent.get_by_test_id("kind")).to_have_text("Noor")
    await check(parent, "toestemming-intrekken", checked=checked)
    await parent.get_by_label("Ja, ik trek mijn toestemming in").check()
    await parent.get_by_role("button", name="Toestemming intrekken").click()
    await expect(parent.get_by_test_id("bevestiging")).to_contain_text("ingetrokken")
    await consent_shows(ib, noor, "Ingetrokken")
    await reload_until(
        ib, lambda: ib.get_by_text("Gepauzeerd (toestemming ontbreekt)"), "trajectory paused"
    )
    # A used link works once.
    await parent.goto(withdrawal)
    await expect(parent.get_by_text("Deze link werkt niet meer")).to_be_visible()


async def support_runs(browser: Browser, base: str, case_id: str) -> None:
    """The worker claims the case, records the first contact, the start conversation and an
    individual plan, and starts support (consent is given)."""
    worker = await person(browser, base)
    await sign_in(worker, "Anouk")
    await worker.goto(f"/zaken/{case_id}")
    await reload_until(
        worker, lambda: worker.get_by_role("button", name="Casus oppakken"), "claimable"
    )
    await worker.get_by_role("button", name="Casus oppakken").click()
    await wait_until_waiting_is_over(worker)
    # On a busy machine the claim may reach the read model after the page's wait ended.
    first_contact = worker.get_by_role("button", name="Eerste contact vastleggen")
    await reload_until(worker, lambda: first_contact, "the claim on the case page")
    await first_contact.click()
    await expect(worker.get_by_role("heading", name="Eerste contact met de school")).to_have_count(
        0
    )
    await worker.get_by_label("De vraag achter de vraag").fill(
        "Wat heeft Noor nodig om zelfstandig te lezen?"
    )
    await worker.get_by_role("button", name="Startgesprek vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await worker.locator("#f-plan-goals-0-description").fill("Leest zelfstandig een boek")
    await worker.locator("#f-plan-goals-0-measure").fill("AVI E4")
    await worker.get_by_role("button", name="Plan vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await worker.get_by_role("button", name="Begeleiding starten").click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("traject")).to_have_text("Begeleiding loopt", timeout=SLOW)
