"""In Chromium on the running services: a case's documents from the request to Team NO
(issue 21, W22), through the portal.

The IB attaches the groeidocument when she submits the request; Anouk (support worker)
claims the case and attaches the minutes of the start conversation on her case page; the
case is escalated to Team NO, and Wendy (Team NO Waterweg) opens both documents from her
agenda: what she downloads is, byte for byte, what was uploaded. axe-core on every page
(0 critical, 0 serious). The parents' consent and the trajectory's steps up to the
escalation are not this test's subject: they are prepared through the services' APIs, as
the other roles' portals send them (their screens are the browser days' tests).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests import sample_documents as files
from tests.portal.browser import person, reload_until, sign_in
from tests.portal.test_browser_days import (  # noqa: F401 (days: the module's stack)
    Stack,
    advance,
    days,
    open_details,
    short,
    visit,
)
from tests.portal.test_browser_flow import SLOW, wait_until_waiting_is_over

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

GROEIDOCUMENT = files.pdf(pages=3)
MINUTES = files.pdf(pages=1) + b"\n% verslag van het startgesprek\n"


async def downloaded(page: Page, link_name: str, tmp_path: Path) -> bytes:
    """The bytes the browser saves when the link is followed."""
    async with page.expect_download() as info:
        await page.get_by_role("link", name=link_name).click()
    download = await info.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    return target.read_bytes()


async def test_w22_the_groeidocument_and_the_minutes_reach_team_no(
    days: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    s = days
    # --- Marieke (IB) submits the request with the school's groeidocument.
    ib = await person(s.browser, s.base)
    await sign_in(ib, "Marieke (IB")
    await expect(ib.get_by_role("heading", name="Aanvragen van de school")).to_be_visible()
    await ib.get_by_role("link", name="Nieuwe aanvraag indienen").click()
    await ib.get_by_label("Kenmerk van de leerling").fill("leerling-321")
    await ib.get_by_label("Naam van de leerling").fill("Mila Verbeek")
    await ib.get_by_label("Geboortedatum").fill("2016-05-20")
    await ib.locator("#f-pupil-parents-0-name").fill("K. Verbeek")
    await ib.locator("#f-pupil-parents-0-email").fill("k.verbeek@example.nl")
    await ib.get_by_label("Wat heeft de leerling nodig?").fill(
        "Leest moeizaam en haakt af bij lange teksten."
    )
    await ib.get_by_label("Wat heeft de school al geprobeerd?").fill(
        "Acht weken extra leesbeurten in een kleine groep."
    )
    await ib.get_by_label("Waarom loopt de school vast?").fill(
        "Geen groei in technisch lezen; de leerkracht zoekt een andere aanpak."
    )
    await ib.get_by_label("Onderwijsondersteuner").select_option("ow-anouk")
    await ib.get_by_label("Wat voor document is het?").select_option("groeidocument")
    await ib.get_by_label("Korte omschrijving").fill("Groeidocument schooljaar 2026-2027")
    await ib.get_by_label("Bestand").set_input_files(
        {"name": "groeidocument.pdf", "mimeType": "application/pdf", "buffer": GROEIDOCUMENT}
    )
    await visit(ib, s)
    await ib.get_by_role("button", name="Aanvraag indienen").click()
    await expect(ib.get_by_role("heading", name="Stand van zaken")).to_be_visible(timeout=SLOW)
    case_id = re.search(r"/zaken/([0-9a-f-]{36})", ib.url).group(1)  # type: ignore[union-attr]
    number = short(case_id)
    listed = ib.get_by_test_id("documenten")
    await reload_until(ib, lambda: listed.get_by_text("Groeidocument schooljaar"), "groeidocument")
    await expect(listed).to_contain_text("Bij de aanvraag")
    await expect(listed).to_contain_text("Marieke de Vries")
    await visit(ib, s)

    # The parents' consent, recorded by the IB (not this test's subject: through the API).
    await advance(s, case_id, "Mila Verbeek", ("consent",))

    # --- Anouk (support worker) claims the case and attaches the start conversation's minutes.
    worker = await person(s.browser, s.base)
    await sign_in(worker, "Anouk")
    await expect(worker.get_by_role("heading", name="Mijn werk")).to_be_visible()
    await worker.goto(f"/zaken/{case_id}")
    await expect(worker.get_by_role("heading", level=1)).to_have_text(
        f"Casus {number}: Mila Verbeek (leerling-321)"
    )
    await worker.get_by_role("button", name="Casus oppakken", exact=True).click()
    await wait_until_waiting_is_over(worker)
    await expect(worker.get_by_test_id("opgepakt")).to_have_text("Anouk Jansen")
    # She reads the school's groeidocument on her case page.
    await expect(worker.get_by_test_id("documenten")).to_contain_text("Groeidocument schooljaar")
    await visit(worker, s)

    await open_details(worker, "Document toevoegen")
    upload = worker.locator(f'form[action="/zaken/{case_id}/documenten"]')
    await upload.get_by_label("Wat voor document is het?").select_option("minutes")
    await upload.get_by_label("Korte omschrijving").fill("Verslag van het startgesprek")
    await upload.get_by_label("Bij welke stap hoort het?").select_option("start_conversation")
    await upload.get_by_label("Bestand").set_input_files(
        {"name": "verslag startgesprek.pdf", "mimeType": "application/pdf", "buffer": MINUTES}
    )
    await visit(worker, s)
    await upload.get_by_role("button", name="Document toevoegen").click()
    await wait_until_waiting_is_over(worker)
    minutes_row = worker.get_by_test_id("document").filter(has_text="Verslag van het startgesprek")
    await reload_until(worker, lambda: minutes_row, "minutes listed")
    await expect(minutes_row).to_contain_text("Gespreksverslag")
    await expect(minutes_row).to_contain_text("Startgesprek")
    await expect(minutes_row).to_contain_text("Anouk Jansen")
    await visit(worker, s, "documenten-traject")

    # The trajectory's steps up to the escalation (the worker's day walks them on screen).
    await advance(s, case_id, "Mila Verbeek", ("supported", "escalated"))

    # --- Wendy (Team NO Waterweg) opens both documents from the agenda.
    team = await person(s.browser, s.base)
    await sign_in(team, "Team NO Waterweg")
    await expect(team.get_by_role("heading", name="Agenda Team NO Waterweg")).to_be_visible()
    link = team.get_by_role("link", name=f"Casus {number}", exact=True)
    await reload_until(team, lambda: link, "case on the agenda")
    item = team.get_by_test_id("agendapunt").filter(has=link)
    documents = item.get_by_test_id("documenten")
    await expect(documents).to_contain_text("Groeidocument schooljaar 2026-2027")
    await expect(documents).to_contain_text("Verslag van het startgesprek")
    await expect(documents).to_contain_text("Startgesprek")
    await expect(item).not_to_contain_text("Mila Verbeek")  # minimised: not the name
    await visit(team, s, "team-no-documenten")

    groeidocument = await downloaded(team, "Downloaden groeidocument: groeidocument.pdf", tmp_path)
    assert groeidocument == GROEIDOCUMENT
    minutes = await downloaded(
        team, "Downloaden gespreksverslag: verslag startgesprek.pdf", tmp_path
    )
    assert minutes == MINUTES

    # On the case page Team NO sees them too, and may add its own.
    await link.click()
    await expect(team.get_by_role("heading", level=1)).to_have_text(f"Casus {number} bij Team NO")
    await expect(team.get_by_test_id("documenten")).to_contain_text("Verslag van het startgesprek")
    await open_details(team, "Document toevoegen")
    await visit(team, s)
