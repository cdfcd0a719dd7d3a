"""Reformulating the request jointly after the start conversation, from the case page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from passend_portal import casedata
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import explain
from passend_portal.web import Form, Portal, redirect

# Intake's roles for a reformulation: the school's IB and the support worker.
ROLES = ("ib", "support_worker")
FORM = "hulpvraag"
FIELDS = frozenset(
    {"levels", "educational_need", "tried_in_basic_support", "why_stuck", "agreed_by", "reason"}
)
AGREEING_ROLES = frozenset({"ib", "teacher", "support_worker"})


def agreed_by(values: list[str]) -> list[dict[str, str]]:
    """``["ib:ib-marieke", "support_worker:ow-anouk"]`` -> intake's ``agreed_by`` list."""
    parties = []
    for value in values:
        role, _, party = value.partition(":")
        if role in AGREEING_ROLES and party:
            parties.append({"role": role, "party_id": party})
    return parties


def reformulation(form: Form) -> dict[str, Any]:
    """W6, W7: the whole new text of the request, who agreed and why."""
    return {
        "levels": form.all("levels"),
        "educational_need": form.get("educational_need"),
        "tried_in_basic_support": form.get("tried_in_basic_support"),
        "why_stuck": form.get("why_stuck"),
        "agreed_by": agreed_by(form.all("agreed_by")),
        "reason": form.get("reason"),
    }


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()

    @routes.post("/zaken/{case_id}/hulpvraag")
    async def reformulate(request: Request, case_id: str) -> Response:
        """W6, W7: the IB or the support worker saves the request as reformulated together
        after the start conversation; intake refuses it before the claim, and the refusal
        is shown in Dutch at the form."""
        session = portal.session_of_role(request, *ROLES)
        form = await Form.of(request)
        fields = form.scoped(FORM)
        try:
            answer = await portal.services.post(
                "intake",
                f"/requests/{case_id}/reformulations",
                token=session.token,
                json=reformulation(fields),
                idempotency_key=fields.get("key") or None,
            )
        except (ServiceError, ServiceDown) as exc:
            problem = explain(exc, FIELDS)
            problem.fields = {f"{FORM}.{k}": v for k, v in problem.fields.items()}
            return await casedata.case_page(
                portal, request, session, case_id, problem, values=form.values(), form=FORM
            )
        version = answer.get("version", 0)
        return redirect(f"/zaken/{case_id}?wacht=intake:{version}&gedaan={FORM}#hulpvraag")

    return routes
