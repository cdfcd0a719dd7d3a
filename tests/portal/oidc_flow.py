"""Signing in through the dev OpenID provider over HTTP: a browser of two cookie jars.

The portal runs in process (ASGI); the provider is the dev stack's, on a real socket.
The directory is assignment's people API as the fakes answer it, from the dev directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

from passend_assignment.directory_file import DEV_FILE
from passend_devstack.oidc_provider import STRANGER, DevClient, OidcProvider, users_of_directory
from passend_devstack.test_tokens import AUDIENCE, ISSUER, issuer_key
from passend_portal.app import create_app
from passend_portal.oidc import OidcConfig
from passend_portal.settings import PortalSettings
from tests.portal.fakes import PORTS, SECRET, FakeServices

PORTAL = "http://portal.test"
CLIENT_ID = "passend-portal"
CLIENT_SECRET = "dev-client-secret"
MACHINE = DevClient(
    "gemeente-vlaardingen",
    "machine-secret",
    claims={"role": "service", "swv": "swv-waterweg"},
)


def directory_people() -> dict[str, dict[str, Any]]:
    """The dev directory's people as ``GET /directory/people/{id}`` answers them."""
    document = yaml.safe_load(DEV_FILE.read_text())
    people = {}
    for swv in document["swvs"]:
        for p in swv.get("people", []):
            people[p["person_id"]] = {
                "person_id": p["person_id"],
                "display_name": p["display_name"],
                "email": None,
                "roles": p["roles"],
                "school_id": p.get("school_id"),
                "work_unit_id": p.get("work_unit_id"),
                "region": p.get("region"),
                "groups": p.get("groups", []),
                "active": True,
            }
    return people


def with_directory(fake: FakeServices) -> None:
    for person_id, answer in directory_people().items():
        fake.on("GET", "assignment", f"/directory/people/{person_id}", (200, answer))


def provider_for(key_dir: Path) -> OidcProvider:
    client = DevClient(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=(f"{PORTAL}/aanmelden/terug",),
        post_logout_redirect_uris=(f"{PORTAL}/afgemeld",),
    )
    users = [*users_of_directory(DEV_FILE), STRANGER]
    return OidcProvider(key_dir, users, [client, MACHINE])


def oidc_settings(issuer: str, **changes: Any) -> PortalSettings:
    config = OidcConfig(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes="openid profile email",
        redirect_uri=f"{PORTAL}/aanmelden/terug",
        post_logout_redirect_uri=f"{PORTAL}/afgemeld",
    )
    values: dict[str, Any] = {
        "service_urls": {name: f"http://{name}.test:{port}" for name, port in PORTS.items()},
        "session_secret": SECRET,
        # The test issuer's key signs the services' tokens, as the dev issuer's does in
        # the dev stack; the persona picker is off because a provider is configured.
        "dev_issuer_dir": issuer_key().pem_path.parent,
        "token_issuer": ISSUER,
        "token_audience": AUDIENCE,
        "public_url": PORTAL,
        "oidc": config,
        **changes,
    }
    return PortalSettings(**values)


class Browser:
    """One person's browser: the portal's cookies and the provider's, redirects by hand."""

    def __init__(self, portal: httpx.AsyncClient, provider: httpx.AsyncClient) -> None:
        self.portal = portal
        self.provider = provider

    def set_session(self, value: str) -> None:
        """Put a session cookie in place of the one the portal set (as a clock would age it)."""
        self.portal.cookies.set("passend_sessie", value, domain="portal.test", path="/")

    async def form_token(self, path: str = "/aanmelden") -> str:
        """The CSRF token the portal's page at ``path`` gives its forms (csrf.py)."""
        return csrf_token_of((await self.portal.get(path)).text)

    async def get(self, url: str) -> httpx.Response:
        if url.startswith((PORTAL, "/")):
            path = url.removeprefix(PORTAL)
            return await self.portal.get(path)
        return await self.provider.get(url)

    async def follow(self, answer: httpx.Response, *, stop_at: str | None = None) -> httpx.Response:
        """Follow redirects until a page (or a location starting with ``stop_at``)."""
        for _ in range(10):
            if answer.status_code not in (302, 303, 307):
                return answer
            location = answer.headers["location"]
            if stop_at and location.startswith(stop_at):
                return answer
            answer = await self.get(location)
        raise AssertionError("too many redirects")

    async def to_provider(self) -> httpx.Response:
        """Start signing in: the provider's answer to the authorization request."""
        start = await self.portal.get("/aanmelden/start")
        assert start.status_code == 303, start.text
        return await self.provider.get(start.headers["location"])

    async def choose(self, chooser: httpx.Response, login: str) -> httpx.Response:
        """Click ``login`` on the provider's page; its redirect back to the portal."""
        assert chooser.status_code == 200, chooser.text
        fields = hidden_fields(chooser.text)
        return await self.provider.post(
            str(chooser.url.copy_with(query=None)), data={**fields, "login": login}
        )

    async def sign_in(self, login: str) -> httpx.Response:
        back = await self.choose(await self.to_provider(), login)
        assert back.status_code == 303
        return await self.get(back.headers["location"])


def hidden_fields(page: str) -> dict[str, str]:
    import html
    import re

    found = re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", page)
    return {html.unescape(k): html.unescape(v) for k, v in found}


def csrf_token_of(page: str) -> str:
    """The CSRF token in a portal page (every page carries it for htmx, on its body)."""
    import re

    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@asynccontextmanager
async def browser_for(
    settings: PortalSettings, fake: FakeServices | None
) -> AsyncIterator[Browser]:
    """A browser on the portal; ``fake`` answers for the services (None: the real ones)."""
    app = create_app(settings, transport=fake.transport() if fake else None)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PORTAL) as portal,
        httpx.AsyncClient(timeout=10) as provider,
    ):
        yield Browser(portal, provider)


def closed_port_url() -> str:
    from passend_devstack.infra import free_port

    return f"http://127.0.0.1:{free_port()}"
