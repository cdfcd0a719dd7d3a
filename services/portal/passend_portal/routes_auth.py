"""Signing in (OpenID Connect, or in development without a provider: pick a persona) and out;
the start page sends you home."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.identity import DirectoryUnavailable, TokenSigner, person_in_directory
from passend_portal.oidc import OidcClient, SignInFailed
from passend_portal.personas import PERSONAS, persona
from passend_portal.session import (
    COOKIE,
    MAX_AGE_SECONDS,
    Session,
    decode,
    encode_fitting,
    read,
)
from passend_portal.signin import (
    DevSignInDisabled,
    session_for,
    with_pupils_as_passend_names_them,
)
from passend_portal.signin_oidc import (
    TRANSACTION_COOKIE,
    TRANSACTION_SECONDS,
    decode_transaction,
    encode_transaction,
    safe_return_path,
    session_of,
)
from passend_portal.web import HOME_OF_ROLE, Form, Portal, redirect

log = logging.getLogger("passend_portal.signin")

# What a person reads when a sign-in failed, by reason (SignInFailed.reason).
FAILURES = {
    "provider_unreachable": "De inlogdienst is nu niet bereikbaar. Probeer het over een paar "
    "minuten opnieuw.",
    "wrong_state": "Deze aanmelding hoort niet bij deze browser, of is al gebruikt. "
    "Meld u opnieuw aan.",
    "no_transaction": "Deze aanmelding is verlopen of al gebruikt. Meld u opnieuw aan.",
    "code_refused": "De inlogdienst heeft de aanmelding niet bevestigd (misschien duurde "
    "het te lang). Meld u opnieuw aan.",
    "bad_id_token": "De inlogdienst gaf een bewijs van aanmelding dat Passend niet "
    "vertrouwt. Meld u opnieuw aan; lukt het weer niet, neem dan contact op met uw "
    "samenwerkingsverband.",
    "wrong_issuer": "De inlogdienst is niet de dienst die voor Passend is ingesteld.",
    "provider_error": "De inlogdienst heeft de aanmelding afgebroken. Meld u opnieuw aan.",
}
DEFAULT_FAILURE = "Aanmelden lukte niet. Meld u opnieuw aan."


def set_session_cookie(response: Response, session: Session, portal: Portal) -> None:
    settings = portal.settings
    response.set_cookie(
        COOKIE,
        encode_fitting(session, settings.session_secret),
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def router(
    portal: Portal, oidc: OidcClient | None = None, signer: TokenSigner | None = None
) -> APIRouter:
    routes = APIRouter()
    settings = portal.settings

    def current(request: Request) -> Session | None:
        return decode(
            request.cookies.get(COOKIE),
            settings.session_secret,
            idle_seconds=settings.session_idle_seconds,
        )

    def sign_in_page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
        context = {
            "personas": PERSONAS,
            "enabled": settings.persona_picker,
            "oidc": oidc is not None,
            "return_to": safe_return_path(request.query_params.get("terug")),
            **extra,
        }
        return portal.render(request, "signin.html", context, status=status)

    def failed(request: Request, reason: str, status: int = 400) -> Response:
        # The reason only: no state, code, token or claim of the person in the log.
        log.warning("sign_in_failed reason=%s", reason)
        context = {"message": FAILURES.get(reason, DEFAULT_FAILURE)}
        response = portal.render(
            request, "signin_failed.html", context, status=status, anonymous=True
        )
        response.delete_cookie(TRANSACTION_COOKIE, path="/aanmelden")
        response.delete_cookie(COOKIE)
        return response

    @routes.get("/")
    async def start(request: Request) -> Response:
        session = current(request)
        if session is None:
            return redirect("/aanmelden")
        return redirect(HOME_OF_ROLE.get(session.role, "/aanmelden"))

    @routes.get("/aanmelden")
    async def sign_in(request: Request) -> HTMLResponse:
        ended = read(request.cookies.get(COOKIE), settings.session_secret)
        return sign_in_page(request, expired=ended is not None and current(request) is None)

    @routes.post("/aanmelden")
    async def pick_persona(request: Request) -> Response:
        form = await Form.of(request)
        chosen = persona(form.get("persona"))
        if not settings.persona_picker:
            return sign_in_page(request, status=403)
        if chosen is None:
            return sign_in_page(request, status=422, message="Kies met wie u zich aanmeldt.")
        try:
            chosen = await with_pupils_as_passend_names_them(
                chosen,
                portal.services,
                settings.dev_issuer_dir,
                issuer=settings.token_issuer,
                audience=settings.token_audience,
            )
            session = session_for(
                chosen,
                settings.dev_issuer_dir,
                issuer=settings.token_issuer,
                audience=settings.token_audience,
            )
        except DevSignInDisabled:
            return sign_in_page(request, status=403)
        except (ServiceDown, ServiceError):
            message = "Passend kan uw leerlingen nu niet opzoeken. Probeer het zo opnieuw."
            return sign_in_page(request, status=503, message=message)
        response = RedirectResponse(HOME_OF_ROLE.get(chosen.role, "/"), status_code=303)
        set_session_cookie(response, session, portal)
        return response

    @routes.get("/aanmelden/start")
    async def start_oidc(request: Request) -> Response:
        if oidc is None:
            return redirect("/aanmelden")
        return_to = safe_return_path(request.query_params.get("terug"))
        try:
            url, transaction = await oidc.start(return_to)
        except SignInFailed as exc:
            return failed(request, exc.reason, status=503)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            TRANSACTION_COOKIE,
            encode_transaction(transaction, settings.session_secret),
            max_age=TRANSACTION_SECONDS,
            path="/aanmelden",
            httponly=True,
            # Lax: the provider's redirect back is a top-level GET, which carries it.
            samesite="lax",
            secure=settings.secure_cookies,
        )
        return response

    @routes.get("/aanmelden/terug")
    async def callback(request: Request) -> Response:
        if oidc is None or signer is None:
            return redirect("/aanmelden")
        transaction = decode_transaction(
            request.cookies.get(TRANSACTION_COOKIE), settings.session_secret
        )
        try:
            identity = await oidc.finish(dict(request.query_params), transaction)
        except SignInFailed as exc:
            status = 503 if exc.reason == "provider_unreachable" else 400
            return failed(request, exc.reason, status=status)
        assert transaction is not None  # finish refuses a callback without one
        try:
            person = await person_in_directory(
                portal.services.http,
                settings.service_urls["assignment"],
                signer,
                settings.default_swv,
                identity.subject,
                intake_url=settings.service_urls.get("intake"),
            )
        except DirectoryUnavailable:
            log.warning("sign_in_failed reason=directory_unavailable")
            message = (
                "Passend kan nu niet nagaan wie u bent. Probeer het over een paar minuten opnieuw."
            )
            response = portal.render(
                request, "signin_failed.html", {"message": message}, status=503, anonymous=True
            )
            response.delete_cookie(TRANSACTION_COOKIE, path="/aanmelden")
            return response
        if person is None:
            log.info("sign_in_unknown_person")
            response = portal.render(
                request,
                "unknown_person.html",
                {"swv": settings.default_swv},
                status=403,
                anonymous=True,
            )
            response.delete_cookie(TRANSACTION_COOKIE, path="/aanmelden")
            response.delete_cookie(COOKIE)
            return response
        session = session_of(person, identity, signer, settings.token_lifetime_seconds)
        target = transaction.return_to
        if target == "/":
            target = HOME_OF_ROLE.get(person.role, "/")
        signed_in = RedirectResponse(target, status_code=303)
        signed_in.delete_cookie(TRANSACTION_COOKIE, path="/aanmelden")
        set_session_cookie(signed_in, session, portal)
        log.info("signed_in role=%s", person.role)
        return signed_in

    @routes.post("/afmelden")
    async def sign_out(request: Request) -> Response:
        session = read(request.cookies.get(COOKIE), settings.session_secret)
        target = "/aanmelden"
        if oidc is not None:
            # RP-initiated logout: the provider ends its session too, then sends the
            # browser back to /afgemeld.
            target = await oidc.logout_url(session.id_token if session else None) or "/afgemeld"
        response = redirect(target)
        response.delete_cookie(COOKIE)
        return response

    @routes.get("/afgemeld")
    async def signed_out(request: Request) -> HTMLResponse:
        return portal.render(request, "signed_out.html", anonymous=True)

    @routes.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks() -> Response:
        """The public key of the services' tokens the portal signs (the services'
        ``AUTH_JWKS`` may point here)."""
        if signer is None:
            return JSONResponse({"keys": []})
        return JSONResponse(signer.jwks, headers={"Cache-Control": "max-age=300"})

    return routes
