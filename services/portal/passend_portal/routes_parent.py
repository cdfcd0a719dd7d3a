"""The parent's consent page behind the personal link: no sign-in, the link is the key (W10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import explain
from passend_portal.web import Form, Portal

Token = Annotated[str, Path(min_length=20, max_length=100)]


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    @routes.get("/toestemming/{token}")
    async def consent_page(request: Request, token: Token) -> HTMLResponse:
        """W10: what is asked, in plain Dutch, and the two answers."""
        try:
            link = await services.get("intake", f"/consent/{token}", token=None)
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc)
            status = exc.status if isinstance(exc, ServiceError) else 503
            context = {"link": None, "message": problem.general}
            return portal.render(request, "parent/consent.html", context, status=status)
        return portal.render(request, "parent/consent.html", {"link": link, "message": None})

    @routes.post("/toestemming/{token}")
    async def answer(request: Request, token: Token) -> HTMLResponse:
        """W10: the parent's answer, recorded once; a used or expired link says so."""
        form = await Form.of(request)
        choice = form.get("antwoord")
        if choice not in ("ja", "nee"):
            link = await services.get("intake", f"/consent/{token}", token=None)
            context = {"link": link, "message": "Kies ja of nee."}
            return portal.render(request, "parent/consent.html", context, status=422)
        verb = "confirm" if choice == "ja" else "refuse"
        try:
            await services.post("intake", f"/consent/{token}/{verb}", token=None)
        except (ServiceError, ServiceDown) as exc:
            status = exc.status if isinstance(exc, ServiceError) else 503
            context = {"link": None, "message": explain(exc).general}
            return portal.render(request, "parent/consent.html", context, status=status)
        return portal.render(request, "parent/answered.html", {"confirmed": choice == "ja"})

    return routes
