"""The portal app: routes of every role, static files, and errors as Dutch pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from urllib.parse import quote, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from passend_portal import (
    csrf,
    routes_agreements,
    routes_audit,
    routes_auth,
    routes_case,
    routes_coordinator,
    routes_directory,
    routes_dossier,
    routes_ib,
    routes_operator,
    routes_parent,
    routes_partners,
    routes_privacy,
    routes_reformulation,
    routes_settings,
    routes_teamno,
    routes_worker,
)
from passend_portal.clients import ServiceDown, ServiceError, Services
from passend_portal.identity import TokenSigner
from passend_portal.messages import explain
from passend_portal.oidc import OidcClient
from passend_portal.session import COOKIE, read
from passend_portal.session_refresh import SessionUpkeep
from passend_portal.settings import PortalSettings
from passend_portal.web import Form, Portal, SignInRequired, WrongRole, make_templates

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


# Fields a form carries that nobody typed: not shown back when a session ended.
HIDDEN_FIELDS = frozenset({csrf.FIELD, "idempotency_key", "key"})
log = logging.getLogger("passend_portal.app")


class SameOrigin(BaseHTTPMiddleware):
    """Refuse a POST whose ``Origin`` is another site (the first lock against CSRF; the
    SameSite cookie and the form's token, csrf.py, are the others)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
                return PlainTextResponse("Verzoek van een andere site geweigerd.", 403)
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def create_app(
    settings: PortalSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    oidc_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The portal; ``transport`` lets tests answer for the services, ``oidc_transport``
    for the identity provider."""
    http = httpx.AsyncClient(timeout=settings.timeout_seconds, transport=transport)
    portal = Portal(settings, Services(settings.service_urls, http), make_templates())
    oidc = OidcClient(settings.oidc, oidc_transport) if settings.oidc else None
    key_file = settings.signing_key_file
    signer = (
        TokenSigner(
            key_file,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            previous_pem_path=settings.previous_token_key_file,
        )
        if key_file is not None and key_file.exists()
        else None
    )
    if oidc is not None and signer is None:
        # Nobody could sign in: say so at start, not at the first sign-in.
        raise RuntimeError(
            "PORTAL_OIDC_ISSUER is set but there is no key to sign the services' tokens: "
            f"set PORTAL_TOKEN_KEY_FILE to an RSA key (PEM) (now: {key_file})"
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await http.aclose()

    app = FastAPI(title="Passend portaal", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.portal = portal
    app.add_middleware(SessionUpkeep, portal=portal, oidc=oidc, signer=signer)

    def refused_form(request: Request) -> Response:
        # No path or field in the log: a refused form says nothing about a person.
        log.warning("form_refused reason=csrf_token")
        return portal.render(request, "error.html", {"message": csrf.REFUSED}, status=403)

    # Every POST: the form's token first (csrf.py), the Origin before that (SameOrigin).
    app.add_middleware(csrf.CsrfProtection, secret=settings.session_secret, refuse=refused_form)
    app.add_middleware(SameOrigin)
    static = files("passend_portal") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: Exception) -> Response:
        target = "/aanmelden"
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        ended = read(request.cookies.get(COOKIE), settings.session_secret) is not None
        if request.method == "POST" and ended:
            # The session ended while a form was being filled in: show what was typed, so
            # it can be copied into the form again after signing in.
            form = await Form.of(request)
            typed = {
                name: " ".join(values)
                for name, values in form.data.items()
                if len(" ".join(values).strip()) > 20
                and name.rsplit(".", 1)[-1] not in HIDDEN_FIELDS
            }
            back = urlsplit(request.headers.get("referer") or "/").path or "/"
            context = {"typed": typed, "sign_in": f"/aanmelden?terug={quote(back)}"}
            response = portal.render(
                request, "session_ended.html", context, status=401, anonymous=True
            )
            response.delete_cookie(COOKIE)
            return response
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(WrongRole)
    async def wrong_role(request: Request, _: Exception) -> HTMLResponse:
        message = "Deze pagina is voor een andere rol. Ga naar uw eigen startpagina."
        return portal.render(request, "error.html", {"message": message}, status=403)

    @app.exception_handler(ServiceDown)
    async def down(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, ServiceDown)
        return portal.render(request, "error.html", {"message": exc.message}, status=503)

    @app.exception_handler(ServiceError)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        if exc.status == 401:
            response = RedirectResponse("/aanmelden", status_code=303)
            response.delete_cookie(COOKIE)
            return response
        problem = explain(exc)
        status = exc.status if exc.status in (403, 404, 409, 410) else 400
        context = {"message": problem.general, "technical": problem.technical}
        return portal.render(request, "error.html", context, status=status)

    @app.get("/health/live", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def live() -> dict[str, str]:
        # The portal keeps no state: serving pages is being ready. A service being down
        # shows on the pages that need it, not as an unready portal.
        return {"status": "ok"}

    app.include_router(routes_auth.router(portal, oidc, signer))
    for module in (
        routes_agreements,
        routes_parent,
        routes_ib,
        routes_case,
        routes_dossier,
        # Before the worker's steps: their POST /zaken/{case_id}/{step} takes any step.
        routes_reformulation,
        routes_worker,
        routes_teamno,
        routes_audit,
        routes_coordinator,
        routes_partners,
        routes_directory,
        # Before the dead letters: their /beheer/{service}/{id} takes any two names.
        routes_settings,
        routes_operator,
        routes_privacy,
    ):
        app.include_router(module.router(portal))
    return app
