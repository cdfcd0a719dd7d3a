"""Driving headless Chromium for the portal's browser tests: launch, axe-core, screenshots."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, Playwright, ViewportSize
from playwright.async_api import Error as PlaywrightError

from passend_devstack.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# axe-core as the axe-playwright-python package ships it (only its axe.min.js is used).
AXE = (resources.files("axe_playwright_python") / "axe.min.js").read_text()
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Screenshots are written only when asked (`make screenshots`): a test run leaves the tree as
# it found it.
WRITE_SCREENSHOTS = os.environ.get("PASSEND_SCREENSHOTS") == "1"
# WCAG 2.1 A and AA, plus axe's best practices; only serious and critical ones fail a page.
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
}"""
LAPTOP: ViewportSize = {"width": 1280, "height": 900}
TABLET: ViewportSize = {"width": 820, "height": 1180}


async def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no {CHROMIUM}: install Debian's chromium (apt-get install -y chromium)")
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


async def person(browser: Browser, base_url: str, viewport: ViewportSize = LAPTOP) -> Page:
    """A fresh browser context (its own cookies), as one person at their own screen.

    ``bypass_csp`` only lets the test inject axe-core; the portal's CSP stays on.
    """
    context = await browser.new_context(
        base_url=base_url, viewport=viewport, bypass_csp=True, locale="nl-NL"
    )
    # A page may wait for a read model: on a busy two-core machine (the suite runs in
    # parallel) that takes longer than Playwright's default of 30 s now and then.
    context.set_default_timeout(60_000)
    return await context.new_page()


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    await page.evaluate(AXE)
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]


async def check(page: Page, shot: str | None = None, *, checked: list[str]) -> None:
    """Assert the page has no serious accessibility violation; save a screenshot if named
    and screenshots were asked for (``PASSEND_SCREENSHOTS=1``)."""
    violations = await serious_violations(page)
    assert not violations, f"{page.url}: {json.dumps(violations, indent=1)}"
    checked.append(page.url)
    if shot and WRITE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)


async def reload_until(
    page: Page, found: Callable[[], Locator], what: str, timeout: float = 90
) -> None:
    """Reload until ``found()`` matches: the services' read models follow within moments."""

    async def probe() -> bool:
        try:
            await page.reload()
        except PlaywrightError:
            # A navigation of the page itself (a sign-in redirect) was still under way.
            await page.wait_for_load_state()
            return False
        return await found().count() > 0

    await page.wait_for_load_state()

    await eventually(probe, timeout=timeout, interval=0.5, what=what)


async def sign_in(page: Page, persona: str) -> None:
    await page.goto("/aanmelden")
    await page.get_by_label(persona).check()
    await page.get_by_role("button", name="Aanmelden").click()


async def wait_until_ready(health: dict[str, str], logs: Path, timeout: float = 240) -> None:
    """Wait until every process answers its health URL; on time-out, say which did not and
    show the end of its log (the suite runs in parallel on two cores: starts can be slow)."""
    waiting: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=5) as http:

        async def ready() -> bool:
            waiting.clear()
            for name, url in health.items():
                try:
                    answer = await http.get(url)
                except httpx.TransportError as exc:
                    waiting[name] = repr(exc)
                    continue
                if answer.status_code != 200:
                    waiting[name] = f"{answer.status_code} {answer.text[:200]}"
            return not waiting

        try:
            await eventually(ready, timeout=timeout, interval=0.3, what="services and portal")
        except AssertionError as exc:
            tails = []
            for name in waiting:
                log = logs / f"{name}.log"
                text = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
                tails.append(f"--- {name}: {waiting[name]}\n{text}")
            raise AssertionError(f"{exc}\n" + "\n".join(tails)) from None
