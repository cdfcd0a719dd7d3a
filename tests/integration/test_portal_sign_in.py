"""Sign-in through the dev OpenID provider with the real directory: the portal asks the
running assignment service who signed in, and assignment takes the token the portal signed
for them (issue 18)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR, load_directory_file
from passend_assignment.service import build_spec
from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database
from passend_devstack.oidc_provider import STRANGER
from passend_devstack.test_tokens import auth_header
from passend_portal.session import COOKIE, read
from passend_portal.settings import PortalSettings
from tests.conftest import create_database
from tests.integration.assignment.kit import running, settings_for
from tests.portal.fakes import PORTS, SECRET
from tests.portal.oidc_flow import browser_for, oidc_settings, provider_for

pytestmark = pytest.mark.integration

UNKNOWN_TEXT = "U bent aangemeld, maar nog niet bekend bij het samenwerkingsverband"


@pytest.fixture(scope="module")
async def assignment(database: Database, broker: Broker) -> AsyncIterator[str]:
    db_url = await create_database(database)
    with pytest.MonkeyPatch.context() as env:
        env.delenv(ENV_VAR, raising=False)
        async with running(build_spec(), settings_for(db_url, broker)) as base:
            yield base


async def new_swv(assignment: str, *, without: str | None = None) -> str:
    """A new SWV with the dev directory (less ``without``), put in place by its admin."""
    swv = f"swv-{uuid4().hex[:8]}"
    doc = load_directory_file(DEV_FILE)[0].model_copy(update={"swv_id": swv})
    body = doc.model_dump(mode="json")
    if without:
        body["people"] = [p for p in body["people"] if p["person_id"] != without]
        body["workers"] = [w for w in body["workers"] if w["worker_id"] != without]
    admin = auth_header(Role.SWV_ADMIN, swv, subject="beheer-linda")
    async with httpx.AsyncClient(base_url=assignment, timeout=30) as http:
        put = await http.put("/directory", headers=admin, json=body)
    assert put.status_code == 200, put.text
    return swv


def portal_settings(issuer: str, assignment: str, swv: str) -> PortalSettings:
    urls = {name: f"http://{name}.test:{port}" for name, port in PORTS.items()}
    return oidc_settings(issuer, service_urls={**urls, "assignment": assignment}, default_swv=swv)


async def test_a_worker_signs_in_and_assignment_takes_the_portals_token(
    assignment: str, tmp_path: Path
) -> None:
    swv = await new_swv(assignment)
    with provider_for(tmp_path / "op") as provider:
        async with browser_for(portal_settings(provider.url, assignment, swv), None) as browser:
            done = await browser.sign_in("ow-anouk")
            assert done.status_code == 303 and done.headers["location"] == "/werk"
            session = read(browser.portal.cookies.get(COOKIE), SECRET)
            assert session is not None
            assert (session.role, session.swv, session.work_unit_id) == (
                "support_worker",
                swv,
                "wu-vlaardingen",
            )
            assert session.display_name == "Anouk Jansen"
            headers = {"Authorization": f"Bearer {session.token}"}
            async with httpx.AsyncClient(base_url=assignment, timeout=30) as http:
                me = await http.get("/directory/people/ow-anouk", headers=headers)
                assert me.status_code == 200, me.text
                assert me.json()["display_name"] == "Anouk Jansen"
                inbox = await http.get("/workers/ow-anouk/inbox", headers=headers)
                assert inbox.status_code == 200, inbox.text


async def test_someone_not_in_this_swvs_directory_is_unknown(
    assignment: str, tmp_path: Path
) -> None:
    swv = await new_swv(assignment, without="ow-bart")
    with provider_for(tmp_path / "op") as provider:
        async with browser_for(portal_settings(provider.url, assignment, swv), None) as browser:
            for login in ("ow-bart", STRANGER.subject):
                answer = await browser.sign_in(login)
                assert answer.status_code == 403
                assert UNKNOWN_TEXT in answer.text
                assert browser.portal.cookies.get(COOKIE) is None
                browser.portal.cookies.clear()
                browser.provider.cookies.clear()
