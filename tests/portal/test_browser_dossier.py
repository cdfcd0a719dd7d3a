"""In Chromium on the running services: the support worker fills in the OPP and downloads
the case's dossier and OPP as PDFs (issue 21); their text, extracted as a reader's tool
would, tells the case's steps in Dutch with names and no ids. axe-core on every page
(0 critical, 0 serious).

The request, consent, claim, start conversation, plan, support and a session are prepared
through the services' APIs as the other people's portals send them
(``test_browser_days.prepared``).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from pypdf import PdfReader

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from tests.e2e.test_trajectory_long_route import SWV
from tests.portal.browser import person, reload_until, sign_in
from tests.portal.test_browser_days import Stack, days, open_details, prepared, short, visit
from tests.portal.test_browser_flow import wait_until_waiting_is_over

__all__ = ["days"]  # the module's stack (one for this module)
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

OUTFLOW = "Vmbo kaderberoepsgerichte leerweg, met leerwegondersteuning"


async def dossier_reads_logged(s: Stack, case_id: str) -> None:
    """NEN 7513: making the dossier is a read each service logged, by Anouk, with its
    reason (as the auditor's API shows the case's reads)."""
    auditor = auth_header(Role.AUDITOR, SWV, subject="au-dossier")
    views = {
        "intake": {"intake.request", "intake.documents"},
        "assignment": {"assignment.case"},
        "trajectory": {"trajectory.trajectory"},
    }
    async with httpx.AsyncClient(timeout=15) as http:
        for service, wanted in views.items():
            answer = await http.get(
                f"{s.urls[service]}/audit/cases/{case_id}/events",
                params={"purpose": "controle van het dossier"},
                headers=auditor,
            )
            assert answer.status_code == 200, answer.text
            logged = {
                r["view"]
                for r in answer.json()["reads"]
                if r["reader"] == "ow-anouk" and r["purpose"] == "dossier (PDF)"
            }
            assert wanted <= logged, (service, logged)


def pdf_text(path: str | Path) -> str:
    pages = PdfReader(io.BytesIO(Path(path).read_bytes())).pages
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pages))


async def test_the_worker_fills_in_the_opp_and_downloads_the_dossier(days: Stack) -> None:
    """Anouk records the OPP with its parts (S) and downloads the dossier: the request, the
    consent, the claim, the start conversation, the plan, the support, the session and the
    OPP in Dutch, by name; then the OPP on its own."""
    s = days
    case_id = await prepared(s, "leerling-321", "Fenna de Wit", "supported")
    worker = await person(s.browser, s.base)
    await sign_in(worker, "Anouk")
    await expect(worker.get_by_role("heading", name="Mijn werk")).to_be_visible()
    await worker.goto(f"/zaken/{case_id}")
    await expect(worker.get_by_role("heading", level=1)).to_contain_text(f"Casus {short(case_id)}")
    await reload_until(worker, lambda: worker.get_by_test_id("sessies"), "session shown")
    await expect(worker.get_by_role("link", name="Dossier (PDF)")).to_be_visible()
    await visit(worker, s, "dossier-knop")

    # S: the OPP with its parts, as the SOP names them.
    await open_details(worker, "OPP vastleggen")
    opp = worker.locator(f'form[action="/zaken/{case_id}/opp"]')
    await opp.get_by_label("Opgesteld op").fill(datetime.now(UTC).date().isoformat())
    await opp.get_by_label("Beginsituatie").fill("Leest op AVI E5 in groep 7; rekenen gaat goed.")
    await opp.get_by_label("Uitstroomperspectief").fill(OUTFLOW)
    await opp.get_by_label("Doel 1").fill("Leest AVI M6 aan het eind van het schooljaar")
    await opp.get_by_label("Doel 2").fill("Plant zelf een weektaak")
    await opp.get_by_label("Ondersteuning en aanpassingen").fill(
        "Twee keer per week leesbegeleiding; een vaste werkplek."
    )
    await visit(worker, s)
    await opp.get_by_role("button", name="OPP vastleggen").click()
    await wait_until_waiting_is_over(worker)
    await reload_until(worker, lambda: worker.get_by_role("link", name="OPP (PDF)"), "OPP recorded")
    await expect(worker.get_by_test_id("opp-onderdelen")).to_contain_text(OUTFLOW)
    await visit(worker, s)

    async with worker.expect_download() as download:
        await worker.get_by_role("link", name="Dossier (PDF)").click()
    got = await download.value
    assert got.suggested_filename == f"dossier-{short(case_id)}.pdf"
    text = pdf_text(await got.path())
    for step in (
        f"Dossier casus {short(case_id)}",
        "Fenna de Wit",
        "Aanvraag ingediend",
        "Toestemming gegeven",
        "Opgepakt",
        "Startgesprek gevoerd",
        "Plan vastgelegd",
        "Begeleiding gestart",
        "Sessie van 1,5 uur",
        "Ontwikkelingsperspectief (OPP) opgesteld",
        OUTFLOW,
        "Verklaring over de echtheid",
    ):
        assert step in text, step
    assert "Anouk Jansen" in text and "Marieke de Vries" in text
    for internal in ("ow-anouk", "ib-marieke", case_id, "leerling-321", "nl.passend"):
        assert internal not in text, internal
    await dossier_reads_logged(s, case_id)

    async with worker.expect_download() as download:
        await worker.get_by_role("link", name="OPP (PDF)").click()
    got = await download.value
    assert got.suggested_filename == f"opp-{short(case_id)}.pdf"
    text = pdf_text(await got.path())
    assert "Beginsituatie" in text and "Leest op AVI E5 in groep 7" in text
    assert OUTFLOW in text and "Plant zelf een weektaak" in text
