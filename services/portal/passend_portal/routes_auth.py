"""Signing in (development: pick a persona) and out; the start page sends you home."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passend_portal.personas import PERSONAS, persona
from passend_portal.session import COOKIE, MAX_AGE_SECONDS, decode, encode
from passend_portal.signin import DevSignInDisabled, session_for
from passend_portal.web import HOME_OF_ROLE, Form, Portal, redirect


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    settings = portal.settings

    @routes.get("/")
    async def start(request: Request) -> Response:
        session = decode(request.cookies.get(COOKIE), settings.session_secret)
        if session is None:
            return redirect("/aanmelden")
        return redirect(HOME_OF_ROLE.get(session.role, "/aanmelden"))

    @routes.get("/aanmelden")
    async def sign_in_page(request: Request) -> HTMLResponse:
        context = {"personas": PERSONAS, "enabled": settings.dev_issuer_dir is not None}
        return portal.render(request, "signin.html", context)

    @routes.post("/aanmelden")
    async def sign_in(request: Request) -> Response:
        form = await Form.of(request)
        chosen = persona(form.get("persona"))
        if chosen is None:
            context = {
                "personas": PERSONAS,
                "enabled": settings.dev_issuer_dir is not None,
                "message": "Kies met wie u zich aanmeldt.",
            }
            return portal.render(request, "signin.html", context, status=422)
        try:
            session = session_for(
                chosen,
                settings.dev_issuer_dir,
                issuer=settings.token_issuer,
                audience=settings.token_audience,
            )
        except DevSignInDisabled:
            context = {"personas": PERSONAS, "enabled": False}
            return portal.render(request, "signin.html", context, status=403)
        response = RedirectResponse(HOME_OF_ROLE.get(chosen.role, "/"), status_code=303)
        response.set_cookie(
            COOKIE,
            encode(session, settings.session_secret),
            max_age=MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
        return response

    @routes.post("/afmelden")
    async def sign_out() -> Response:
        response = redirect("/aanmelden")
        response.delete_cookie(COOKIE)
        return response

    return routes
