"""Intake's HTTP routes for consent (W10, R) and the parent's personal link."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from passend_backbone.audit.readlog import record_case_read
from passend_backbone.auth import CurrentPrincipal, Role
from passend_backbone.commands import IdempotencyHeader, Refusal
from passend_backbone.service import ServiceContext
from passend_contracts.events.intake import ConsentMethod
from passend_intake import (
    consent_commands,
    consent_links,
    parent_contact_commands,
    parent_facts,
    queries,
)
from passend_intake.access import (
    READERS,
    WORKERS,
    case_facts,
    no_such_case,
    require_role,
    require_sees,
)
from passend_intake.api_common import CaseId, caller_key, correlation_id, respond
from passend_intake.api_errors import COMMAND_ERRORS, GONE, NOT_FOUND, READ_ERRORS
from passend_intake.consent_commands import LinkAnswer
from passend_intake.schemas import (
    Accepted,
    ConsentAnswerBody,
    ConsentRequestAccepted,
    ConsentRequestBody,
    ConsentWithdrawalBody,
    LinkView,
    OpenLinks,
    ParentContactBody,
    ParentDelivery,
    PupilHeardBody,
)
from passend_intake.views import ConsentView

Token = Annotated[
    str, Path(min_length=20, max_length=100, description="The token of the personal link")
]
ParentRef = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="The parent")
]


def consent_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["consent"])

    @router.post(
        "/requests/{case_id}/consent/requests",
        status_code=201,
        response_model=ConsentRequestAccepted,
        summary="Ask the parents for consent (W10)",
        description="The school asks the named parents for consent to individual support. "
        "With `personal_link` each parent gets a link of their own, which works once and "
        "until `expires_in_hours` have passed: the notifications service e-mails it to the "
        "address in the request, and the answer shows it too (to hand over in person or on "
        "paper). A retry with the same `Idempotency-Key` shows the same links. Asking again "
        "replaces the open links. Publishes `ConsentRequested`. Role: `ib`.",
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
        return respond(
            await consent_commands.request_consent(
                ctx, principal, case_id, body, key, correlation_id(request)
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

    @router.put(
        "/requests/{case_id}/parents/{parent_ref}/contact",
        response_model=Accepted,
        summary="Correct how a parent is reached (W10)",
        description="When the consent link or a message did not reach a parent because the "
        "e-mail address or phone number in the request was wrong: the parent is reached at "
        "these from now on (both replace what the request gave; one of them is needed). "
        "The pupil's identity is sealed again with the pupil's key; nothing is in the clear. "
        "Publishes `ParentContactCorrected`. Ask for consent again (or let the operator send "
        "the message again) to reach the parent at the new address. 409: the request was "
        "withdrawn, or the pupil erased. Roles: `ib`, `support_worker`.",
        responses=COMMAND_ERRORS,
    )
    async def correct_contact(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        parent_ref: ParentRef,
        body: ParentContactBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"PUT /requests/{case_id}/parents/{parent_ref}/contact"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await parent_contact_commands.correct_contact(
                ctx, principal, case_id, parent_ref, body, key, correlation_id(request)
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

    @router.get(
        "/requests/{case_id}/consent/links",
        dependencies=[Depends(record_case_read(ctx, "intake.consent_links"))],
        response_model=OpenLinks,
        summary="The parents' links that still work, to hand over in person",
        description="When a parent's e-mail did not arrive (no address, refused, bounced), "
        "the school gives the link in person or on paper: these are the case's personal "
        "links that can still be used (to answer the consent request, or to withdraw the "
        "consent given, W10), each the same link the e-mail carries. The read is logged. "
        "Roles: `ib`, `support_worker`.",
        responses=READ_ERRORS,
    )
    async def links(principal: CurrentPrincipal, case_id: CaseId) -> OpenLinks:
        require_role(principal, WORKERS)
        require_sees(principal, await case_facts(ctx.pool, principal.swv, case_id))
        return await parent_facts.open_links(ctx.pool, principal.swv, case_id, ctx.clock())

    return router


def internal_router(ctx: ServiceContext) -> APIRouter:
    """What other Passend services ask intake for, with a service token of the tenant."""
    router = APIRouter(tags=["services"])

    @router.get(
        "/internal/cases/{case_id}/parents/{parent_ref}",
        response_model=ParentDelivery,
        summary="One parent of one case, for a message to them (notifications)",
        description="The notifications service asks this when it delivers a message to a "
        "parent: the address and name from the request (decrypted for this answer only; "
        "never stored elsewhere), the school's name, the child's first name, and, with "
        "`cause` (the id of the event the message is about), the personal link that event "
        "made for this parent. A parent is named by the case and the school's reference "
        "together: the same reference in another case is another person. 404: no such "
        "case or parent in the caller's SWV; 410: the pupil was erased. Role: `service`.",
        responses={**READ_ERRORS, 410: GONE},
    )
    async def parent(
        principal: CurrentPrincipal,
        case_id: CaseId,
        parent_ref: ParentRef,
        cause: Annotated[UUID | None, Query(description="The event the message is about")] = None,
    ) -> ParentDelivery:
        require_role(principal, frozenset({Role.SERVICE}))
        # parent_facts.PupilErased is answered 410 (api_errors).
        found = await parent_facts.delivery(
            ctx.pool, principal.swv, case_id, parent_ref, cause, ctx.clock()
        )
        if found is None:
            raise Refusal.not_found("case_reach", "no such case or parent")
        return found

    return router


def parent_router(ctx: ServiceContext) -> APIRouter:
    """The pages behind a personal link: the token is the only credential."""
    router = APIRouter(tags=["parent link"])

    @router.get(
        "/consent/{token}",
        response_model=LinkView,
        summary="What the parent's link asks",
        description="Shows what is asked (consent, or withdrawing it), whether the link "
        "still works, the school that asks and the child's first name, so the parent knows "
        "what it is about; nothing more. No bearer token: the link's token is the "
        "credential.",
        responses={404: NOT_FOUND},
    )
    async def show(token: Token) -> LinkView:
        async with ctx.pool.acquire() as conn:
            link = await consent_links.find(conn, token, ctx.clock())
        if link is None:
            raise no_such_case()
        return await parent_facts.link_view(ctx.pool, link)

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
            ctx, token, LinkAnswer.CONFIRM, idempotency_key, correlation_id(request)
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
            ctx, token, LinkAnswer.REFUSE, idempotency_key, correlation_id(request)
        )
        return respond(answer)

    @router.post(
        "/consent/{token}/withdraw",
        status_code=201,
        response_model=Accepted,
        summary="The parent withdraws consent through the link (W10)",
        description="Consent can be withdrawn at any time: the parent who consented gets a "
        "link for it. Records `ConsentWithdrawn` as the parent's own (no `recorded_by`) and "
        "uses the link up; the work pauses until there is consent again. A used, expired or "
        "replaced link answers 410.",
        responses={404: NOT_FOUND, 409: COMMAND_ERRORS[409], 410: GONE},
    )
    async def withdraw(
        request: Request, token: Token, idempotency_key: IdempotencyHeader = None
    ) -> JSONResponse:
        answer = await consent_commands.answer_by_link(
            ctx, token, LinkAnswer.WITHDRAW, idempotency_key, correlation_id(request)
        )
        return respond(answer)

    return router
