"""The parent's pages behind a personal link: no sign-in, the link is the key (W10).

A link either answers the school's consent request (yes or no) or withdraws the consent
given; the parent who consented gets the second kind by e-mail (W10: withdrawable at any
time). The page names the school and the child's first name, so the parent knows what
it is about, and nothing more.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import explain
from passend_portal.web import Form, Portal

Token = Annotated[str, Path(min_length=20, max_length=100)]

# The parent's choice on the page -> intake's verb for the link. Intake refuses a verb
# that is not the link's purpose (a consent link can't withdraw, and the other way round).
VERBS = {"ja": "confirm", "nee": "refuse", "intrekken": "withdraw"}
# What the thank-you page says, by the verb recorded.
ANSWERED = {"confirm": "confirmed", "refuse": "refused", "withdraw": "withdrawn"}


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()
    services = portal.services

    def failed(request: Request, exc: ServiceError | ServiceDown) -> HTMLResponse:
        status = exc.status if isinstance(exc, ServiceError) else 503
        context = {"link": None, "message": explain(exc).general}
        return portal.render(request, "parent/consent.html", context, status=status)

    @routes.get("/toestemming/{token}")
    async def consent_page(request: Request, token: Token) -> HTMLResponse:
        """W10: what is asked, by which school, about which child, and the answers."""
        try:
            link = await services.get("intake", f"/consent/{token}", token=None)
        except (ServiceError, ServiceDown) as exc:
            return failed(request, exc)
        return portal.render(request, "parent/consent.html", {"link": link, "message": None})

    @routes.post("/toestemming/{token}")
    async def answer(request: Request, token: Token) -> HTMLResponse:
        """W10: the parent's answer or withdrawal, recorded once; a used or expired link
        says so. The form's key makes a double click one answer."""
        form = await Form.of(request)
        verb = VERBS.get(form.get("antwoord") or "")
        if verb is None:
            try:
                link = await services.get("intake", f"/consent/{token}", token=None)
            except (ServiceError, ServiceDown) as exc:
                return failed(request, exc)
            context = {"link": link, "message": "Kies een antwoord."}
            return portal.render(request, "parent/consent.html", context, status=422)
        try:
            await services.post(
                "intake",
                f"/consent/{token}/{verb}",
                token=None,
                idempotency_key=form.get("idempotency_key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            return failed(request, exc)
        context = {"answered": ANSWERED[verb]}
        return portal.render(request, "parent/answered.html", context)

    return routes
