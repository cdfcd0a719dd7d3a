"""Keeping a session alive: renew its tokens at the provider when due, and note its use.

Runs before every page: a session whose services' token is due is refreshed at the
identity provider (refresh-token grant) and checked at the directory again, so a person
who left the directory or lost a role stops within one token lifetime. A refresh that
fails ends the session (the page then asks to sign in again). Every minute of use
moves the idle timeout on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passend_portal.identity import DirectoryUnavailable, TokenSigner, person_in_directory
from passend_portal.oidc import OidcClient, SignInFailed
from passend_portal.session import (
    COOKIE,
    MAX_AGE_SECONDS,
    Session,
    encode_fitting,
    has_ended,
    read,
)
from passend_portal.signin_oidc import session_of
from passend_portal.web import Portal

log = logging.getLogger("passend_portal.session")
# Pages that need no session keep their hands off it.
_UNTOUCHED = ("/static/", "/health/", "/aanmelden", "/afgemeld", "/afmelden", "/.well-known/")
SEEN_EVERY_SECONDS = 60
# After its refresh moment a session's services' token still lives a minute
# (signin_oidc.session_of); within this part of it a failed refresh is not yet the end.
REFRESH_GRACE_SECONDS = 30


class SessionUpkeep:
    """ASGI middleware: refreshes due sessions and moves the idle timeout on."""

    def __init__(
        self,
        app: ASGIApp,
        portal: Portal,
        oidc: OidcClient | None,
        signer: TokenSigner | None,
    ) -> None:
        self.app = app
        self.portal = portal
        self.oidc = oidc
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(_UNTOUCHED):
            await self.app(scope, receive, send)
            return
        settings = self.portal.settings
        headers = MutableHeaders(scope=scope)
        jar = SimpleCookie(headers.get("cookie", ""))
        morsel = jar.get(COOKIE)
        session = read(morsel.value if morsel else None, settings.session_secret)
        if session is None or has_ended(session, idle_seconds=settings.session_idle_seconds):
            await self.app(scope, receive, send)
            return
        now = time.time()
        renewed: Session | None = session
        if session.refresh_at and now >= session.refresh_at:
            renewed = await self._refresh(session)
            if renewed is None and now < session.refresh_at + REFRESH_GRACE_SECONDS:
                # Pages load several parts at once: when two requests refresh the same
                # session, the provider takes the (rotated) refresh token only once. The
                # one that lost still has a valid services' token: serve it unchanged.
                await self.app(scope, receive, send)
                return
        elif now - session.seen >= SEEN_EVERY_SECONDS:
            renewed = dataclasses.replace(session, seen=now)
        else:
            await self.app(scope, receive, send)
            return

        if renewed is None:
            del jar[COOKIE]
        else:
            jar[COOKIE] = encode_fitting(renewed, settings.session_secret)
        cookie_header = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        # The page below sees the renewed session (or none) as if the browser sent it.
        headers["cookie"] = cookie_header

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                attributes = "Path=/; HttpOnly; SameSite=Lax"
                if settings.secure_cookies:
                    attributes += "; Secure"
                if renewed is None:
                    out.append("set-cookie", f'{COOKIE}=""; Max-Age=0; {attributes}')
                elif not any(v.startswith(f"{COOKIE}=") for v in out.getlist("set-cookie")):
                    value = encode_fitting(renewed, settings.session_secret)
                    out.append(
                        "set-cookie", f"{COOKIE}={value}; Max-Age={MAX_AGE_SECONDS}; {attributes}"
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _refresh(self, session: Session) -> Session | None:
        """The renewed session, or None when it can't be renewed (then it ends)."""
        if self.oidc is None or self.signer is None or not session.refresh_token:
            return None
        settings = self.portal.settings
        try:
            identity = await self.oidc.refresh(session.refresh_token, session)
            if identity.subject != session.subject:
                log.warning("session_refresh_failed reason=other_subject")
                return None
            person = await person_in_directory(
                self.portal.services.http,
                settings.service_urls["assignment"],
                self.signer,
                session.swv,
                identity.subject,
                intake_url=settings.service_urls.get("intake"),
            )
        except (SignInFailed, DirectoryUnavailable) as exc:
            reason = exc.reason if isinstance(exc, SignInFailed) else "directory_unavailable"
            log.warning("session_refresh_failed reason=%s", reason)
            return None
        if person is None:
            log.info("session_refresh_failed reason=unknown_person")
            return None
        return session_of(
            person, identity, self.signer, settings.token_lifetime_seconds, previous=session
        )
