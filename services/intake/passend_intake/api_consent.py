"""Intake's HTTP routes for consent (W10, R) and the parent's personal link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from passend_backbone.auth import CurrentPrincipal
from passend_backbone.commands import IdempotencyHeader
from passend_backbone.service import ServiceContext
from passend_contracts.events.intake import ConsentMethod
from passend_intake import consent_commands, consent_links, queries
from passend_intake.access import READERS, case_facts, no_such_case, require_role, require_sees
from passend_intake.api_common import CaseId, caller_key, correlation_id, respond
from passend_intake.api_errors import COMMAND_ERRORS, NOT_FOUND, READ_ERRORS
from passend_intake.retry_keys import Seal
from passend_intake.schemas import (
    Accepted,
    ConsentAnswerBody,
    ConsentRequestAccepted,
    ConsentRequestBody,
    ConsentWithdrawalBody,
    ErrorBody,
    LinkView,
    PupilHeardBody,
)
from passend_intake.views import ConsentView

Token = Annotated[
    str, Path(min_length=20, max_length=100, description="The token of the personal link")
]
QUESTION = (
    "Geeft u toestemming dat de onderwijsondersteuner van het samenwerkingsverband uw kind "
    "individueel begeleidt? U kunt deze toestemming later altijd weer intrekken."
)
GONE = {
    "model": ErrorBody,
    "description": "The link was used already, expired, or replaced by a newer request",
    "content": {
        "application/json": {
            "example": {"detail": {"rule": "W10", "message": "this link was used already"}}
        }
    },
}


def consent_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["consent"])

    @router.post(
        "/requests/{case_id}/consent/requests",
        status_code=201,
        response_model=ConsentRequestAccepted,
        summary="Ask the parents for consent (W10)",
        description="The school asks the named parents for consent to individual support. "
        "With `personal_link` the answer holds one link per parent: **the token is shown "
        "only here, once**; it works once and until `expires_in_hours` have passed. Asking "
        "again replaces the open links. Publishes `ConsentRequested`. Role: `ib`.",
        responses=COMMAND_ERRORS,
    )
    async def ask(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: ConsentRequestBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/consent/requests"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        seal = Seal.of(principal.swv, principal.subject, idempotency_key)
        return respond(
            await consent_commands.request_consent(
                ctx, principal, case_id, body, key, seal, correlation_id(request)
            )
        )

    @router.post(
        "/requests/{case_id}/consent/confirmations",
        status_code=201,
        response_model=Accepted,
        summary="Record a parent's consent given in person",
        description="A parent who was asked consented at the start conversation or in the "
        "support team meeting (W10). For a pupil of 12 or older the pupil must have been "
        "heard first (R). Publishes `ConsentConfirmed`. Roles: `ib`, `support_worker`.",
        responses=COMMAND_ERRORS,
    )
    async def confirm(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: ConsentAnswerBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/consent/confirmations"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        answer = await consent_commands.record_answer(
            ctx,
            principal,
            case_id,
            body.parent_ref,
            ConsentMethod(body.method),
            True,
            key,
            correlation_id(request),
        )
        return respond(answer)

    @router.post(
        "/requests/{case_id}/consent/refusals",
        status_code=201,
        response_model=Accepted,
        summary="Record a parent's refusal given in person",
        description="A parent who was asked refused consent (W10); individual support "
        "can't start. Publishes `ConsentRefused`. Roles: `ib`, `support_worker`.",
        responses=COMMAND_ERRORS,
    )
    async def refuse(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: ConsentAnswerBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/consent/refusals"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        answer = await consent_commands.record_answer(
            ctx,
            principal,
            case_id,
            body.parent_ref,
            ConsentMethod(body.method),
            False,
            key,
            correlation_id(request),
        )
        return respond(answer)

    @router.post(
        "/requests/{case_id}/consent/withdrawals",
        status_code=201,
        response_model=Accepted,
        summary="Record that a parent withdrew consent",
        description="Consent can be withdrawn at any time (W10); the work pauses until "
        "new consent. Publishes `ConsentWithdrawn`. Roles: `ib`, `support_worker`.",
        responses=COMMAND_ERRORS,
    )
    async def withdraw(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: ConsentWithdrawalBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/consent/withdrawals"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await consent_commands.record_withdrawal(
                ctx, principal, case_id, body.parent_ref, key, correlation_id(request)
            )
        )

    @router.post(
        "/requests/{case_id}/pupil-hearings",
        status_code=201,
        response_model=Accepted,
        summary="Record that the pupil was heard (R)",
        description="A pupil of 12 or older is a party and is heard before the parents' "
        "consent counts. Publishes `PupilHeard`. Roles: `ib`, `support_worker`.",
        responses=COMMAND_ERRORS,
    )
    async def hear(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: PupilHeardBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/pupil-hearings"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await consent_commands.record_hearing(
                ctx, principal, case_id, body.view, key, correlation_id(request)
            )
        )

    @router.get(
        "/requests/{case_id}/consent",
        response_model=ConsentView,
        summary="Read the consent state of a case",
        description="Consent to individual support (W10): status, who was asked, who "
        "answered how and when, and whether the pupil was heard (R). "
        "`individual_support_allowed` is true only while consent is confirmed.",
        responses=READ_ERRORS,
    )
    async def read(principal: CurrentPrincipal, case_id: CaseId) -> ConsentView:
        require_role(principal, READERS)
        require_sees(principal, await case_facts(ctx.pool, principal.swv, case_id))
        view = await queries.consent_state(ctx.pool, principal.swv, case_id)
        if view is None:
            raise no_such_case()
        return view

    return router


def parent_router(ctx: ServiceContext) -> APIRouter:
    """The pages behind a personal link: the token is the only credential."""
    router = APIRouter(tags=["parent link"])

    @router.get(
        "/consent/{token}",
        response_model=LinkView,
        summary="What the parent's link asks",
        description="Shows what is asked and whether the link still works; holds no "
        "personal data. No bearer token: the link's token is the credential.",
        responses={404: NOT_FOUND},
    )
    async def show(token: Token) -> LinkView:
        async with ctx.pool.acquire() as conn:
            link = await consent_links.find(conn, token, ctx.clock())
        if link is None:
            raise no_such_case()
        return LinkView(state=link.state.value, expires_at=link.expires_at, question=QUESTION)

    @router.post(
        "/consent/{token}/confirm",
        status_code=201,
        response_model=Accepted,
        summary="The parent consents through the link",
        description="Records the parent's consent (method `personal_link`) and uses the "
        "link up. A used, expired or replaced link answers 410.",
        responses={404: NOT_FOUND, 409: COMMAND_ERRORS[409], 410: GONE},
    )
    async def confirm(
        request: Request, token: Token, idempotency_key: IdempotencyHeader = None
    ) -> JSONResponse:
        answer = await consent_commands.answer_by_link(
            ctx, token, True, idempotency_key, correlation_id(request)
        )
        return respond(answer)

    @router.post(
        "/consent/{token}/refuse",
        status_code=201,
        response_model=Accepted,
        summary="The parent refuses through the link",
        description="Records the parent's refusal and uses the link up. A used, expired "
        "or replaced link answers 410.",
        responses={404: NOT_FOUND, 409: COMMAND_ERRORS[409], 410: GONE},
    )
    async def refuse(
        request: Request, token: Token, idempotency_key: IdempotencyHeader = None
    ) -> JSONResponse:
        answer = await consent_commands.answer_by_link(
            ctx, token, False, idempotency_key, correlation_id(request)
        )
        return respond(answer)

    return router
