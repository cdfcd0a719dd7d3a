"""In Chromium: each role signs in through the dev OpenID provider, reaches its start page,
and signs out at the portal and the provider (issue 18)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import async_playwright, expect

from passend_assignment.directory_file import DEV_FILE
from passend_devstack.infra import free_port
from passend_devstack.oidc_provider import STRANGER, DevClient, OidcProvider, users_of_directory
from passend_devstack.waiting import eventually
from passend_portal.app import create_app
from passend_portal.settings import PortalSettings
from tests.portal.browser import check, launch, person
from tests.portal.fakes import FakeServices
from tests.portal.oidc_flow import CLIENT_ID, CLIENT_SECRET, oidc_settings, with_directory

pytestmark = pytest.mark.e2e

ROLES = [
    ("Marieke de Vries", "/school", "Intern begeleider (IB)"),
    ("Anouk Jansen", "/werk", "Onderwijsondersteuner"),
    ("Marleen Dekker", "/werk", "Onderwijsspecialist"),
    ("Wendy Hoogendoorn", "/team-no", "Lid Team NO"),
    ("Petra van Dijk", "/audit", "Auditor"),
    ("Henk Mulder", "/overzicht", "Coördinator werkeenheid"),
    ("Sanne Bakker", "/klas", "Leerkracht"),
    ("Linda Hendriks", "/mensen", "Beheerder van het SWV"),
    ("Kees Willems", "/beheer", "Beheerder van Passend"),
    ("Yvonne Peters", "/privacy", "Functionaris gegevensbescherming"),
    ("Jeroen Bos", "/uitnodigingen", "Routebegeleider"),
]


@contextmanager
def serving(settings: PortalSettings, fake: FakeServices, port: int) -> Iterator[None]:
    """The portal on a real port (its services answered by ``fake``) until the end."""
    app = create_app(settings, transport=fake.transport())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, name="portal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_each_role_signs_in_and_out_through_the_provider_in_chromium(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = DevClient(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=(f"{base}/aanmelden/terug",),
        post_logout_redirect_uris=(f"{base}/afgemeld",),
    )
    users = [*users_of_directory(DEV_FILE), STRANGER]
    fake = FakeServices()
    with_directory(fake)
    # What the teacher's sign-in asks (her pupils, W16) and what the start pages of the
    # teacher and the privacy officer ask for first.
    fake.on("GET", "intake", "/internal/schools/brin-11aa/pupils", (200, {"pupils": []}))
    fake.on("GET", "intake", "/schools/brin-11aa/requests", (200, []))
    fake.on("GET", "intake", "/privacy/erasure-requests", (200, {"requests": []}))
    fake.on("GET", "trajectory", "/invitations", (200, {"invitations": []}))
    checked: list[str] = []
    with OidcProvider(tmp_path / "op", users, [client]) as provider:
        settings = oidc_settings(provider.url)
        assert settings.oidc is not None
        settings = replace(
            settings,
            public_url=base,
            oidc=replace(
                settings.oidc,
                redirect_uri=f"{base}/aanmelden/terug",
                post_logout_redirect_uri=f"{base}/afgemeld",
            ),
        )
        with serving(settings, fake, port):
            async with httpx.AsyncClient() as http:

                async def up() -> bool:
                    try:
                        return (await http.get(f"{base}/health/live")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(up, timeout=30, interval=0.2, what="portal serving")
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                try:
                    for name, home, role_label in ROLES:
                        page = await person(browser, base)
                        await page.goto("/aanmelden")
                        await page.get_by_role("link", name="Aanmelden via de inlogdienst").click()
                        await page.get_by_role("button", name=name).click()
                        await expect(page).to_have_url(f"{base}{home}")
                        await expect(page.get_by_text(f"{name} · {role_label}")).to_be_visible()
                        assert provider.sessions, "signed in at the provider"
                        await page.get_by_role("button", name="Afmelden").click()
                        await expect(page).to_have_url(f"{base}/afgemeld")
                        await expect(
                            page.get_by_role("heading", name="U bent afgemeld")
                        ).to_be_visible()
                        await check(
                            page, "afgemeld" if home == "/school" else None, checked=checked
                        )
                        assert provider.sessions == {}, "signed out at the provider too"
                        cookies = await page.context.cookies(base)
                        assert "passend_sessie" not in {c["name"] for c in cookies}
                        await page.goto(home)
                        await expect(page).to_have_url(f"{base}/aanmelden")
                        await page.context.close()

                    stranger = await person(browser, base)
                    await stranger.goto("/aanmelden")
                    await check(stranger, "aanmelden-oidc", checked=checked)
                    await stranger.get_by_role("link", name="Aanmelden via de inlogdienst").click()
                    await stranger.get_by_role("button", name=STRANGER.name).click()
                    await expect(
                        stranger.get_by_text("U bent aangemeld, maar nog niet bekend bij het")
                    ).to_be_visible()
                    await check(stranger, "onbekend-in-directory", checked=checked)
                    await expect(stranger.get_by_role("navigation")).to_have_count(0)
                    await stranger.goto("/school")
                    await expect(stranger).to_have_url(f"{base}/aanmelden")
                finally:
                    await browser.close()
    assert len(checked) == len(ROLES) + 2
