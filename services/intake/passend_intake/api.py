"""Intake's HTTP API: the app, and the routes of support requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse

from passend_backbone.audit.integrity import integrity_router
from passend_backbone.audit.readlog import record_case_read, record_list_read
from passend_backbone.audit.router import audit_router
from passend_backbone.audit.state import fold_with
from passend_backbone.auth import CaseFacts, CurrentPrincipal, Principal, Role, sees_case
from passend_backbone.commands import HEADER, IdempotencyHeader, Refusal
from passend_backbone.service import ServiceContext
from passend_intake import log_redaction, name_search, queries, request_commands
from passend_intake.access import READERS, case_facts, no_such_case, require_role, require_sees
from passend_intake.api_common import CaseId, caller_key, correlation_id, respond
from passend_intake.api_consent import consent_router, internal_router, parent_router
from passend_intake.api_documents import documents_router
from passend_intake.api_errors import COMMAND_ERRORS, READ_ERRORS, install_error_handlers
from passend_intake.api_privacy import privacy_router
from passend_intake.api_pupils import pupils_router
from passend_intake.domain.state import CaseState, evolve
from passend_intake.schemas import (
    Accepted,
    ReformulateBody,
    RequestCreated,
    SubmitRequestBody,
    WithdrawBody,
)
from passend_intake.views import FoundRequest, RequestDetail, RequestSummary

DESCRIPTION = """
The intake service of Passend: what a school asks the SWV for one pupil, and what the
parents agreed to. A school's own system can integrate from this document alone.

**Authentication.** Every endpoint except the parent's `/consent/{token}` pages needs an
OIDC bearer token (`Authorization: Bearer <JWT>`) of the SWV. The token's claims say who
calls (`sub`), the tenant (`swv`), the role and, for an IB, the `school_id`. Everything is
scoped to the token's SWV; an IB sees only the own school's requests. A case of another
school or SWV answers **404**, exactly as an unknown one.

**Writing.** Commands answer once the event is stored. Every command takes an
`Idempotency-Key` header (a UUID, say), and `POST /requests` requires one: sending the
same request with the same key again returns exactly the first answer (for a submission
the same case, never a second one; for a consent request the same links), even when the
case moved on since; nothing is done twice. The same key with another body, or for
another endpoint or case, is a 422. Without a key a command is simply decided again.

**Reading.** Reads answer from read models that follow the events within moments: right
after `POST /requests`, `GET /requests/{case_id}` may answer 404 for a short while; poll.

**Errors.** `401` no or a bad token; `403` the role may not do this at all; `404` no such
case (for this caller); `409` the case's state does not allow it now; `410` a consent link
that was used, expired or replaced; `422` validation, nothing written. `detail` names the
field (`loc` in schema errors, `field` in rule errors) and, for domain rules, the `rule`
tag (e.g. `W5`) of the SWV's working agreements.

**Privacy.** The pupil's name, date of birth and the parents' contact details are stored
only encrypted with a key per pupil and never travel on the event bus in the clear;
erasing the pupil deletes the key, after which the identity reads `[gewist]`.
"""

TAGS = [
    {"name": "requests", "description": "Support requests of a school (W1-W7, W24)"},
    {"name": "consent", "description": "Consent to individual support (W10) and hearing (R)"},
    {"name": "documents", "description": "Documents attached to a request (W22), encrypted"},
    {"name": "parent link", "description": "The parent's personal consent link (no token)"},
    {"name": "services", "description": "What other Passend services ask (service token)"},
]


def require_school_access(principal: Principal, school_id: str) -> None:
    """An IB or teacher reads only the own school; another school answers as if unknown."""
    require_role(principal, READERS)
    if principal.role in (Role.IB, Role.TEACHER) and principal.school_id != school_id:
        raise no_such_case()


def parse_case_ids(text: str | None) -> list[UUID]:
    """``a,b,c`` as case ids (at most :data:`queries.MAX_FOUND`); 422 for one that isn't."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if len(parts) > queries.MAX_FOUND:
        raise Refusal.invalid(
            "case_ids", f"at most {queries.MAX_FOUND} case ids at once", field="case_ids"
        )
    try:
        return [UUID(p) for p in parts]
    except ValueError:
        raise Refusal.invalid("case_ids", "a case id is not a UUID", field="case_ids") from None


def requests_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["requests"])

    @router.post(
        "/requests",
        status_code=201,
        response_model=RequestCreated,
        summary="Submit a support request for a pupil",
        description="An IB asks one named support worker for help with a pupil of the own "
        "school (W1-W4, W24). The request is about the pupil (W5); system guidance of the "
        "school organisation is refused with the reason (W5). The pupil's identity is "
        "encrypted before it is stored. Creates the case and publishes "
        "`nl.passend.intake.RequestSubmitted.v1`. Role: `ib`.",
        responses={
            **COMMAND_ERRORS,
            201: {"description": "The case was created (or, on a retry, had been created)"},
        },
    )
    async def submit(
        request: Request,
        principal: CurrentPrincipal,
        body: SubmitRequestBody,
        # Required here (no default): a school's retry must never make a second case.
        idempotency_key: IdempotencyHeader,
    ) -> JSONResponse:
        key = caller_key(principal, idempotency_key, "POST /requests", body.model_dump(mode="json"))
        if key is None:
            raise Refusal.invalid(
                "idempotency", "a submission needs a non-empty Idempotency-Key", field=HEADER
            )
        answer = await request_commands.submit_request(
            ctx, principal, body, key, correlation_id(request)
        )
        location = answer.body.get("href")
        headers = {"Location": location} if isinstance(location, str) else None
        return JSONResponse(status_code=answer.status_code, content=answer.body, headers=headers)

    @router.get(
        "/schools/{school_id}/requests",
        response_model=list[RequestSummary],
        summary="List a school's requests",
        description="The requests of one school, newest first, with their status "
        "(submitted, claimed, in_trajectory, withdrawn) and consent status. An IB lists "
        "only the own school. Roles: `ib`, `support_worker`, `education_specialist`, "
        "`coordinator`, `auditor`.",
        responses=READ_ERRORS,
    )
    async def list_requests(
        request: Request,
        principal: CurrentPrincipal,
        school_id: Annotated[str, Path(min_length=1, max_length=64, examples=["school-04ab"])],
        limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, description="Rows to skip")] = 0,
    ) -> list[RequestSummary]:
        require_school_access(principal, school_id)
        found = await queries.school_requests(
            ctx.pool,
            principal.swv,
            school_id,
            limit=limit,
            offset=offset,
            visible=lambda facts: sees_case(principal, facts),
        )
        # A list shows the cases too: every one it showed is logged as read.
        await record_list_read(
            ctx.pool,
            principal,
            (r.case_id for r in found),
            view="intake.school_requests",
            correlation_id=correlation_id(request),
        )
        return found

    @router.get(
        "/requests",
        response_model=list[FoundRequest],
        summary="Find requests by case number, pupil reference or pupil name, or list cases",
        description="`find`: the requests whose case id starts with the text (the short "
        "number of eight characters the portal shows, from six characters on, or the whole "
        "id) or whose pupil reference is the text; and, for the roles that work with the "
        "pupil (`ib`, `teacher`, `support_worker`, `coordinator`, `education_specialist`, "
        "`route_coach`), those whose pupil's name holds the text (given or family name, in "
        "part, without regard to case or accents; `pupil_name` then says the name). The "
        "identities opened are those of the caller's cases only; an erased pupil never "
        "matches; the text is neither logged nor stored. `case_ids`: the requests of these "
        "cases (comma-separated, at most 200). `called_in=true`: a route coach's requests "
        "of the cases they were called into (W29). One of these is needed. Only the requests "
        "within the caller's reach are answered (an IB: the own school's), newest first; each one "
        "answered is logged as read. Roles: every role that reads requests.",
        responses=READ_ERRORS,
    )
    async def find_requests(
        request: Request,
        principal: CurrentPrincipal,
        find: Annotated[
            str | None,
            Query(
                max_length=100,
                description="A case number, its start, a pupil reference or (part of) the "
                "pupil's name",
            ),
        ] = None,
        case_ids: Annotated[
            str | None, Query(max_length=8000, description="Case ids, comma-separated")
        ] = None,
        called_in: Annotated[
            bool, Query(description="A route coach's cases they were called into (W29)")
        ] = False,
    ) -> list[FoundRequest]:
        require_role(principal, READERS)
        ids = parse_case_ids(case_ids)
        if not (find or "").strip() and not ids and not called_in:
            raise Refusal.invalid("find", "give find, case_ids or called_in", field="find")
        if called_in and principal.role is not Role.ROUTE_COACH:
            raise Refusal.invalid(
                "called_in", "only a route coach is called into cases (W29)", field="called_in"
            )

        def visible(facts: CaseFacts) -> bool:
            return sees_case(principal, facts)

        found = await queries.found_requests(
            ctx.pool,
            principal.swv,
            find=find,
            case_ids=ids,
            called_in=principal.subject if called_in else None,
            visible=visible,
        )
        named = await find_by_name(principal, find, visible, already={r.case_id for r in found})
        await record_list_read(
            ctx.pool,
            principal,
            (r.case_id for r in found),
            view="intake.find_requests",
            correlation_id=correlation_id(request),
        )
        # A match by name opened the pupil's identity: logged as its own view.
        await record_list_read(
            ctx.pool,
            principal,
            (r.case_id for r in named),
            view="intake.find_by_name",
            correlation_id=correlation_id(request),
        )
        answer = [FoundRequest(**r.model_dump()) for r in found] + named
        answer.sort(key=lambda r: (r.submitted_at, str(r.case_id)), reverse=True)
        return answer[: queries.MAX_FOUND]

    async def find_by_name(
        principal: Principal,
        find: str | None,
        visible: Callable[[CaseFacts], bool],
        *,
        already: set[UUID],
    ) -> list[FoundRequest]:
        """The caller's requests whose pupil's name holds ``find`` (not those ``already``
        found by number), for the roles that may search by name; none for the others."""
        query = name_search.NameQuery.of(find)
        if query is None or not name_search.may_search_names(principal):
            return []
        named = await name_search.cases_named(
            ctx.pool, principal, query, visible=visible, limit=queries.MAX_FOUND
        )
        names = {n.case_id: n.name for n in named if n.case_id not in already}
        if not names:
            return []
        rows = await queries.found_requests(
            ctx.pool, principal.swv, case_ids=list(names), visible=visible
        )
        return [FoundRequest(**r.model_dump(), pupil_name=names[r.case_id]) for r in rows]

    @router.get(
        "/requests/{case_id}",
        dependencies=[Depends(record_case_read(ctx, "intake.request"))],
        response_model=RequestDetail,
        summary="Read one request with its full history",
        description="The request's current text, the pupil (decrypted for this answer; "
        "`[gewist]` after erasure), consent, progress (claim, trajectory) and every event "
        "of the case in order, with who did it and when.",
        responses=READ_ERRORS,
    )
    async def read_request(principal: CurrentPrincipal, case_id: CaseId) -> RequestDetail:
        require_role(principal, READERS)
        require_sees(principal, await case_facts(ctx.pool, principal.swv, case_id))
        detail = await queries.request_detail(ctx.pool, principal.swv, case_id)
        if detail is None:
            raise no_such_case()
        return detail

    @router.post(
        "/requests/{case_id}/reformulations",
        status_code=201,
        response_model=Accepted,
        summary="Reformulate the request jointly (W6, W7)",
        description="After the start conversation (so once the case was claimed) the IB or "
        "teacher and the support worker reformulate the request together; the event keeps "
        "the old and the new text, who agreed and why. Levels may widen to teacher or "
        "group here (W5). Roles: `ib`, `support_worker`.",
        responses=COMMAND_ERRORS,
    )
    async def reformulate(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: ReformulateBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/reformulations"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await request_commands.reformulate_request(
                ctx, principal, case_id, body, key, correlation_id(request)
            )
        )

    @router.post(
        "/requests/{case_id}/withdrawal",
        response_model=Accepted,
        summary="Withdraw the request",
        description="The school withdraws its request, with a reason, as long as no "
        "trajectory has started for it. Role: `ib` of the school.",
        responses=COMMAND_ERRORS,
    )
    async def withdraw(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        body: Annotated[WithdrawBody, Body()],
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/withdrawal"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await request_commands.withdraw_request(
                ctx, principal, case_id, body.reason, key, correlation_id(request)
            )
        )

    return router


def _reads_case(ctx: ServiceContext) -> Callable[[Principal, UUID], Awaitable[None]]:
    """The check of reading a request: a reader's role (403), the case in reach (404)."""

    async def check(principal: Principal, case_id: UUID) -> None:
        require_role(principal, READERS)
        require_sees(principal, await case_facts(ctx.pool, principal.swv, case_id))

    return check


def create_app(ctx: ServiceContext) -> FastAPI:
    """The intake app; the runtime adds health routes, correlation ids and the verifier."""
    app = FastAPI(
        title="Passend intake",
        version="1.0.0",
        summary="Support requests of schools and parental consent",
        description=DESCRIPTION,
        openapi_tags=TAGS,
    )
    install_error_handlers(app)
    log_redaction.install()
    app.include_router(requests_router(ctx))
    app.include_router(consent_router(ctx))
    app.include_router(documents_router(ctx))
    # Auditors replay the case from this service's own log (issue 7).
    app.include_router(audit_router(ctx, state_as_of=fold_with(evolve, CaseState())))
    # Every reader of the case gets its streams' hash-chain heads (issue 21).
    app.include_router(integrity_router(ctx, check=_reads_case(ctx)))
    app.include_router(parent_router(ctx))
    app.include_router(internal_router(ctx))
    app.include_router(privacy_router(ctx))
    app.include_router(pupils_router(ctx))
    return app


__all__ = ["create_app"]
