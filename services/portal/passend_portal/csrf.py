"""CSRF protection: a synchronizer token on every form, checked before any POST runs.

The token is an HMAC with the session secret of what the request is bound to: the
signed-in session (its subject and sign-in moment, so it lives as long as the session
and no longer), a parent's personal link (the link is the key of those pages), or, for
someone not signed in, a random cookie of this browser. Another site can read none of
these, so it can't post a form in someone's name. The ``Origin`` check and the
``SameSite=Lax`` cookie (app.py, routes_auth.py) stay: this is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passend_portal.session import COOKIE, Session, read

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
# A browser not signed in gets this cookie with its first page: the sign-in form's binding.
BROWSER_COOKIE = "passend_formulier"
LINK_PREFIX = "/toestemming/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# A form of the portal is a few kilobytes; more is no form of ours.
MAX_FORM_BYTES = 1024 * 1024
REFUSED = (
    "Dit formulier is niet verstuurd: het hoort niet (meer) bij uw sessie. Dat gebeurt als "
    "u zich intussen opnieuw heeft aangemeld of de pagina lang open stond. Ga terug, laad de "
    "pagina opnieuw en vul het formulier nog eens in. Er is niets veranderd."
)


def _mac(secret: bytes, purpose: str, value: str) -> str:
    return hmac.new(secret, f"csrf:{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def session_token(session: Session, secret: bytes) -> str:
    """The token of a signed-in session: the same for all its pages, new at every sign-in."""
    return _mac(secret, "session", f"{session.subject}\n{session.started!r}")


def link_token(path: str, secret: bytes) -> str | None:
    """The token of a parent's link page (``/toestemming/<link>``), or None elsewhere."""
    if not path.startswith(LINK_PREFIX):
        return None
    link = path[len(LINK_PREFIX) :].split("/", 1)[0]
    return _mac(secret, "link", link) if link else None


def browser_token(value: str, secret: bytes) -> str:
    return _mac(secret, "browser", value)


def new_browser_value() -> str:
    return secrets.token_urlsafe(32)


def expected_tokens(path: str, cookies: Mapping[str, str], secret: bytes) -> list[str]:
    """Every token a form posted to ``path`` by this browser may carry."""
    tokens = []
    session = read(cookies.get(COOKIE), secret)
    if session is not None:
        # An ended session keeps its token: its form leads to the "session ended" page
        # that shows what was typed, not to a refusal.
        tokens.append(session_token(session, secret))
    link = link_token(path, secret)
    if link is not None:
        tokens.append(link)
    browser = cookies.get(BROWSER_COOKIE)
    if browser:
        tokens.append(browser_token(browser, secret))
    return tokens


def token_for_page(path: str, cookies: Mapping[str, str], secret: bytes) -> tuple[str, str | None]:
    """The token the forms of a page carry, and a new browser cookie value when one is
    needed first (someone not signed in, outside a parent's link)."""
    session = read(cookies.get(COOKIE), secret)
    if session is not None:
        return session_token(session, secret), None
    link = link_token(path, secret)
    if link is not None:
        return link, None
    browser = cookies.get(BROWSER_COOKIE)
    if browser:
        return browser_token(browser, secret), None
    fresh = new_browser_value()
    return browser_token(fresh, secret), fresh


def is_valid(sent: str | None, expected: Iterable[str]) -> bool:
    if not sent:
        return False
    return any(hmac.compare_digest(sent, token) for token in expected)


def token_in_form(body: bytes) -> str | None:
    values = parse_qs(body.decode("utf-8", errors="replace")).get(FIELD)
    return values[0] if values else None


def token_in_multipart(body: bytes, content_type: str) -> str | None:
    """The token of a ``multipart/form-data`` body (a form with a file), from the part named
    ``csrf_token``. The portal's forms carry it first, so the start of the body holds it."""
    boundary = next(
        (
            p.split("=", 1)[1].strip().strip('"')
            for p in content_type.split(";")
            if p.strip().lower().startswith("boundary=")
        ),
        "",
    )
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1", errors="replace")
    # Every part but the last one seen is complete: it is followed by a delimiter.
    for part in body.split(delimiter)[1:-1]:
        head, separator, value = part.partition(b"\r\n\r\n")
        if not separator:
            continue
        disposition = head.decode("latin-1").lower()
        if f'name="{FIELD}"' in disposition and "filename=" not in disposition:
            return value.removesuffix(b"\r\n").decode("ascii", errors="replace").strip()
    return None


class CsrfProtection:
    """ASGI middleware: a state-changing request without the right token gets a Dutch
    403 page and reaches no route. The token comes from the form field ``csrf_token``
    or (htmx) the ``X-CSRF-Token`` header."""

    def __init__(self, app: ASGIApp, secret: bytes, refuse: Callable[[Request], Response]) -> None:
        self.app = app
        self.secret = secret
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        jar = SimpleCookie(headers.get("cookie", ""))
        cookies = {name: morsel.value for name, morsel in jar.items()}
        expected = expected_tokens(str(scope["path"]), cookies, self.secret)
        sent = headers.get(HEADER)
        body = b""
        messages: list[Message] = []
        if not is_valid(sent, expected):
            # Read the form (and keep it for the route): the token is one of its fields.
            more = True
            while more:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_FORM_BYTES:
                    break
            content_type = headers.get("content-type", "")
            if content_type.startswith("application/x-www-form-urlencoded"):
                form_token = token_in_form(body)
            elif content_type.startswith("multipart/form-data"):
                form_token = token_in_multipart(body, content_type)
            else:
                form_token = None
            if not is_valid(form_token, expected):
                response = self.refuse(Request(scope))
                await response(scope, receive, send)
                return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)
