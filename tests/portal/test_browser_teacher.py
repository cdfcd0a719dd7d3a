"""In Chromium on the running services, through the portal only: the teacher's part and
inviting an adviser (C, W16), and the directory's people kept by a work unit's
coordinator and the SWV's administrator, with a removal refused until the open case is
handed over (issue 24, W25). Dutch text and names on screen, axe-core clean."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from passend_devstack.infra import Broker, Database
from tests.portal.browser import check, launch, person, reload_until, sign_in, wait_until_ready
from tests.portal.test_browser_flow import processes, stack, wait_until_waiting_is_over

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
SLOW = 60_000  # ms


async def test_teacher_adviser_and_directory_people_on_screen_C_W16_W25(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    commands, base, health = await stack(database, broker)
    checked: list[str] = []
    with processes(commands, tmp_path):
        await wait_until_ready(health, tmp_path)
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                case_id = await teachers_part(browser, base, checked)
                await directory_people(browser, base, case_id, checked)
            finally:
                await browser.close()
    assert len(checked) >= 11, checked


async def submit_request(browser: Browser, base: str) -> str:
    """The IB asks Anouk for help with Lotte, a pupil of Sanne's group 5, and names Sanne
    as her teacher: Lotte's number is not among the pupils Sanne's sign-in lists, so Sanne
    reads the case because the request names her (W16)."""
    ib = await person(browser, base)
    await sign_in(ib, "Marieke (IB")
    await ib.goto("/school/aanvraag")
    await ib.get_by_label("Kenmerk van de leerling").fill("leerling-077")
    await ib.get_by_label("Naam van de leerling").fill("Lotte de Wit")
    await ib.get_by_label("Geboortedatum").fill("2017-03-02")
    await ib.locator("#f-pupil-parents-0-name").fill("R. de Wit")
    await ib.locator("#f-pupil-parents-0-email").fill("r.dewit@example.nl")
    await ib.get_by_label("Wat heeft de leerling nodig?").fill(
        "Lotte heeft structuur nodig om zelfstandig aan het werk te gaan."
    )
    await ib.get_by_label("Wat heeft de school al geprobeerd?").fill(
        "Zes weken een dagplanning op tafel en korte instructie aan de instructietafel."
    )
    await ib.get_by_label("Waarom loopt de school vast?").fill(
        "Lotte komt niet op gang; de leerkracht weet niet meer wat werkt."
    )
    await ib.get_by_label("Onderwijsondersteuner").select_option("ow-anouk")
    await ib.get_by_label("Leerkracht van de leerling").select_option(label="Sanne Bakker")
    await ib.get_by_role("button", name="Aanvraag indienen").click()
    await expect(ib.get_by_role("heading", name="Stand van zaken")).to_be_visible(timeout=SLOW)
    found = re.search(r"/zaken/([0-9a-f-]{36})", ib.url)
    assert found is not None
    await ib.context.close()
    return found.group(1)


async def teachers_part(browser: Browser, base: str, checked: list[str]) -> str:
    case_id = await submit_request(browser, base)

    # --- Sanne, named in the request, reads along before anyone claims it (W16). ---
    early = await person(browser, base)
    await sign_in(early, "Sanne")
    named = early.get_by_test_id("aanvragen-leerkracht")
    await reload_until(early, lambda: named.get_by_role("link", name="Lotte de Wit"), "request")
    await expect(named).to_contain_text("wacht op een onderwijsondersteuner")
    await named.get_by_role("link", name="Lotte de Wit").click()
    await expect(early.get_by_role("heading", name="Aanvraag voor Lotte de Wit")).to_be_visible()
    await expect(early.get_by_role("button", name="Link maken")).to_have_count(0)
    await early.context.close()

    # --- Anouk claims the case; the trajectory opens; she notes the pupil's group (C). ---
    worker = await person(browser, base)
    await sign_in(worker, "Anouk")
    await worker.goto(f"/zaken/{case_id}")
    await reload_until(
        worker, lambda: worker.get_by_role("button", name="Casus oppakken"), "case to claim"
    )
    await worker.get_by_role("button", name="Casus oppakken").click()
    await wait_until_waiting_is_over(worker)
    together = "Groep, maatregelen en reflecties bekijken, of een adviseur uitnodigen"
    await reload_until(worker, lambda: worker.get_by_role("link", name=together), "trajectory")
    await worker.get_by_role("link", name=together).click()
    await expect(
        worker.get_by_role("heading", name="Samenwerken rond Lotte de Wit")
    ).to_be_visible()
    await expect(worker.get_by_test_id("groep")).to_have_text("Nog niet vastgelegd")
    await expect(worker.get_by_test_id("ondersteuner")).to_have_text("Anouk Jansen")
    await check(worker, "samenwerken-ondersteuner", checked=checked)
    await worker.get_by_label("Groep", exact=True).fill("groep 5")
    await worker.get_by_role("button", name="Groep vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("groep")).to_have_text("groep 5")

    # --- Sanne, the teacher of groep 5, sees Lotte among her pupils (C, W16). ---
    teacher = await person(browser, base)
    await sign_in(teacher, "Sanne")
    await expect(
        teacher.get_by_role("heading", name="Mijn leerlingen met een traject")
    ).to_be_visible()
    await reload_until(
        teacher, lambda: teacher.get_by_role("link", name="Lotte de Wit"), "pupil of groep 5"
    )
    row = teacher.get_by_role("row").filter(has=teacher.get_by_role("link", name="Lotte de Wit"))
    await expect(row).to_contain_text("Anouk Jansen")
    await expect(row).to_contain_text("groep 5")
    await check(teacher, "leerkracht-leerlingen", checked=checked)
    await teacher.get_by_role("link", name="Lotte de Wit").click()
    await expect(
        teacher.get_by_role("heading", name="Samenwerken rond Lotte de Wit")
    ).to_be_visible()
    await check(teacher, "leerkracht-samenwerken", checked=checked)

    # A measure dated ahead is refused in Dutch next to its field (C).
    ahead = (date.today() + timedelta(days=30)).isoformat()
    await teacher.get_by_label("Welke maatregel, welk hulpmiddel of welke aanpak").fill(
        "Een time-timer op tafel bij zelfstandig werken"
    )
    await teacher.get_by_label("Geprobeerd vanaf").fill(ahead)
    await teacher.get_by_label("Wat werkte, wat niet, en waarom?").fill(
        "Lotte begint sneller; na de pauze werkt het minder."
    )
    await teacher.get_by_role("button", name="Maatregel vastleggen").click()
    await expect(teacher.locator("#f-maatregel-tried_from-fout")).to_contain_text(
        "de startdatum ligt niet in de toekomst"
    )
    await check(teacher, "leerkracht-maatregel-fout", checked=checked)

    # The measure, tried since last week, is recorded and shown with who recorded it.
    since = (date.today() - timedelta(days=7)).isoformat()
    await teacher.get_by_label("Welke maatregel, welk hulpmiddel of welke aanpak").fill(
        "Een time-timer op tafel bij zelfstandig werken"
    )
    await teacher.get_by_label("Geprobeerd vanaf").fill(since)
    await teacher.get_by_label("Wat werkte, wat niet, en waarom?").fill(
        "Lotte begint sneller; na de pauze werkt het minder."
    )
    await teacher.get_by_role("button", name="Maatregel vastleggen").click()
    await wait_until_waiting_is_over(teacher)
    measures = teacher.get_by_test_id("maatregelen")
    await expect(measures).to_contain_text("Een time-timer op tafel bij zelfstandig werken")
    await expect(measures).to_contain_text("Sanne Bakker")

    # The reflection with Anouk on that measure (C).
    await teacher.get_by_text("Reflectie vastleggen", exact=True).first.click()
    await teacher.get_by_label("Een time-timer op tafel bij zelfstandig werken").check()
    await teacher.get_by_label("Wat heeft u samen geconcludeerd?").fill(
        "De timer helpt in de ochtend; na de pauze heeft Lotte een extra seintje nodig."
    )
    await teacher.get_by_label("Wat passen jullie aan, en hoe?").fill(
        "Na de pauze een picto op tafel; twee weken proberen."
    )
    await teacher.get_by_role("button", name="Reflectie vastleggen").click()
    await wait_until_waiting_is_over(teacher)
    reflections = teacher.get_by_test_id("reflecties")
    await expect(reflections).to_contain_text("met Anouk Jansen")
    await expect(reflections).to_contain_text("na de pauze heeft Lotte een extra seintje nodig")

    # --- Sanne invites the adviser at a warning sign, with a clear goal (C). ---
    goal = "Samen bepalen of Lotte een andere aanpak of extra hulp nodig heeft."
    await teacher.get_by_text("Adviseur uitnodigen voor een gesprek", exact=True).click()
    await teacher.get_by_label("Wie nodigt u uit?").select_option(label="Marleen Dekker")
    await teacher.get_by_label("Knipperlichtmoment").check()
    await teacher.get_by_label("Doel van het gesprek").fill(goal)
    await teacher.get_by_label("Datum van het gesprek").fill(
        (date.today() + timedelta(days=7)).isoformat()
    )
    await teacher.get_by_role("button", name="Uitnodiging versturen").click()
    await wait_until_waiting_is_over(teacher)
    await expect(teacher.get_by_test_id("uitnodigingen")).to_contain_text("Marleen Dekker")
    await check(teacher, "leerkracht-vastgelegd", checked=checked)

    # --- Marleen, the adviser, sees the invitation with its goal and who invited her. ---
    adviser = await person(browser, base)
    await sign_in(adviser, "Marleen")
    await adviser.get_by_role("link", name="Uitnodigingen").click()
    await reload_until(adviser, lambda: adviser.get_by_text(goal), "invitation")
    invitation = adviser.get_by_test_id("uitnodiging").filter(has_text=goal)
    await expect(invitation).to_contain_text("Sanne Bakker")
    await expect(invitation).to_contain_text("Knipperlichtmoment")
    await expect(invitation.get_by_role("heading")).to_contain_text("over Lotte de Wit")
    await check(adviser, "adviseur-uitnodigingen", checked=checked)
    for page in (worker, teacher, adviser):
        await page.context.close()
    return case_id


async def directory_people(browser: Browser, base: str, case_id: str, checked: list[str]) -> None:
    # --- Henk, coordinator of Vlaardingen, sees his own unit's people by name. ---
    coordinator = await person(browser, base)
    await sign_in(coordinator, "Henk")
    await coordinator.get_by_role("link", name="Medewerkers").click()
    await expect(
        coordinator.get_by_role("heading", name="Medewerkers van Werkeenheid Vlaardingen")
    ).to_be_visible()
    people = coordinator.get_by_role("table")
    for name in ("Anouk Jansen", "Bart van Leeuwen", "Chantal Visser", "Henk Mulder"):
        await expect(people).to_contain_text(name)
    await expect(people).not_to_contain_text("Daan Smit")  # another unit's
    await expect(people).not_to_contain_text("Sanne Bakker")  # a school's
    await check(coordinator, "medewerkers-coordinator", checked=checked)

    # He adds a support worker to his own unit.
    await coordinator.get_by_role("link", name="Onderwijsondersteuner toevoegen").click()
    await coordinator.get_by_label("Naam", exact=True).fill("Fenna Kok")
    await coordinator.get_by_label("Inlognaam").fill("ow-fenna")
    await coordinator.get_by_label("E-mailadres op het werk").fill(
        "fenna.kok@waterweg.passend.test"
    )
    await coordinator.get_by_label("Lezen en spelling").check()
    await check(coordinator, "medewerker-toevoegen", checked=checked)
    await coordinator.get_by_role("button", name="Toevoegen").click()
    await expect(coordinator.get_by_test_id("klaar")).to_have_text(
        "Fenna Kok is toegevoegd aan het personeelsoverzicht."
    )
    await expect(row_of(coordinator, "Fenna Kok")).to_contain_text("Onderwijsondersteuner")

    # Anouk holds Lotte's open case: her removal is refused, naming the case (W25).
    await coordinator.get_by_role("link", name="Uitschrijven Anouk Jansen").click()
    await coordinator.get_by_label("Waarom wordt Anouk Jansen uitgeschreven?").fill(
        "Uit dienst per 1 januari"
    )
    await coordinator.get_by_role("button", name="Uitschrijven").click()
    await expect(coordinator.get_by_role("alert")).to_contain_text(
        "Anouk Jansen kan nog niet worden uitgeschreven"
    )
    await expect(coordinator.get_by_role("alert")).to_contain_text("een open casus")
    handing = coordinator.get_by_test_id("open-casussen")
    await expect(handing).to_contain_text(f"Casus {case_id[:8]}: Lotte de Wit")
    await check(coordinator, "uitschrijven-geweigerd", checked=checked)
    await handing.get_by_role("combobox").select_option(label="Bart van Leeuwen")
    await coordinator.get_by_role("button", name="Overdragen en uitschrijven").click()
    await expect(coordinator.get_by_test_id("klaar")).to_contain_text(
        "Anouk Jansen is uitgeschreven"
    )
    await expect(row_of(coordinator, "Anouk Jansen")).to_contain_text("Uitgeschreven")

    # --- Linda, the SWV's administrator, keeps everyone: she registers a teacher. ---
    admin = await person(browser, base)
    await sign_in(admin, "Linda")
    await expect(admin.get_by_role("heading", name="Medewerkers", exact=True)).to_be_visible()
    everyone = admin.get_by_role("table")
    for name in ("Sanne Bakker", "Daan Smit", "Marleen Dekker", "Fenna Kok"):
        await expect(everyone).to_contain_text(name)
    await expect(row_of(admin, "Sanne Bakker")).to_contain_text("Basisschool De Havenmeester")
    await check(admin, "medewerkers-beheerder", checked=checked)
    await admin.get_by_role("link", name="Medewerker toevoegen").click()
    await admin.get_by_label("Naam", exact=True).fill("Tim de Boer")
    await admin.get_by_label("Inlognaam").fill("lk-tim")
    await admin.get_by_label("Rol", exact=True).select_option(label="Leerkracht")
    await admin.locator("#f-persoon-school_id").select_option(label="Basisschool De Havenmeester")
    await admin.get_by_label("Groepen").fill("groep 6")
    await admin.get_by_role("button", name="Toevoegen").click()
    await expect(admin.get_by_test_id("klaar")).to_have_text(
        "Tim de Boer is toegevoegd aan het personeelsoverzicht."
    )
    tim = row_of(admin, "Tim de Boer")
    await expect(tim).to_contain_text("Leerkracht")
    await expect(tim).to_contain_text("groep 6")
    # And deactivates him again: no open cases, so at once.
    await admin.get_by_role("link", name="Uitschrijven Tim de Boer").click()
    await admin.get_by_role("button", name="Uitschrijven").click()
    await expect(admin.get_by_test_id("klaar")).to_contain_text("Tim de Boer is uitgeschreven")
    await expect(row_of(admin, "Tim de Boer")).to_contain_text("Uitgeschreven")
    await check(admin, "medewerker-uitgeschreven", checked=checked)


def row_of(page: Page, name: str) -> Locator:
    """The table row of the person named ``name``."""
    return page.get_by_test_id("persoon").filter(has_text=name)
