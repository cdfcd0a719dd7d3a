"""The routes of a case's documents (issue 21): attach, list, download, remove."""

from __future__ import annotations

import hashlib
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import JSONResponse, Response

from passend_backbone.audit.readlog import ORDINARY_PURPOSE, record_case_read, record_read
from passend_backbone.auth import CurrentPrincipal
from passend_backbone.commands import IdempotencyHeader, Refusal
from passend_backbone.http_errors import LargeBody, problem_responses
from passend_backbone.service import ServiceContext
from passend_intake import document_commands, document_queries
from passend_intake.access import READERS, case_facts, require_role, require_sees
from passend_intake.api_common import CaseId, caller_key, correlation_id, respond
from passend_intake.api_errors import COMMAND_ERRORS, READ_ERRORS
from passend_intake.document_checks import ALLOWED, MAX_BYTES, TOO_LARGE
from passend_intake.document_views import (
    AttachDocumentForm,
    DocumentAttachedAnswer,
    DocumentView,
    RemoveDocumentBody,
)
from passend_intake.schemas import Accepted

DocumentId = Annotated[UUID, Path(description="The document id returned when it was attached")]
# The form around a file of the largest size: its other fields and the multipart framing.
_FORM_OVERHEAD = 1024 * 1024
UPLOADS = LargeBody(
    path=r"/requests/[^/]+/documents", max_bytes=MAX_BYTES + _FORM_OVERHEAD, detail=TOO_LARGE
)
_UPLOAD_ERRORS = {**COMMAND_ERRORS, **problem_responses(410, 413, 415)}
_DOWNLOAD = {
    200: {
        "description": "The document's content, decrypted for this answer",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in ALLOWED
        },
    },
    **READ_ERRORS,
    **problem_responses(410),
}


def content_disposition(file_name: str) -> str:
    """``attachment`` with the file's own name (RFC 6266), and a plain ASCII fallback."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in file_name
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def documents_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["documents"])

    @router.post(
        "/requests/{case_id}/documents",
        status_code=201,
        response_model=DocumentAttachedAnswer,
        summary="Attach a document to the case (W22)",
        description="A PDF, DOCX, ODT, JPEG or PNG of at most 20 MB, as `multipart/form-data` "
        "with the `file`, its `kind` and a short `description`; optionally the `stage` "
        "(`request` or `trajectory`; by default the trajectory once a worker took the case "
        "up) and the trajectory's `step` it belongs to (`start_conversation`, `session`, "
        "`evaluation`, `escalation`). A step with `stage=request` is a **422**, the "
        "trajectory stage before the claim a **409**. The type is found in the "
        "content, not the file name: anything else is a **415**; over 20 MB a **413**; an "
        "encrypted or damaged PDF a **422**; nothing is stored then. The content, file name "
        "and description are encrypted with the pupil's key; "
        "`nl.passend.intake.DocumentAttached.v1` carries only kind, size, SHA-256 and who. "
        "An erased pupil's case answers **410**. Roles: `ib`, `support_worker`, "
        "`education_specialist`, `team_no_member`, each on a case within reach.",
        responses={
            **_UPLOAD_ERRORS,
            201: {"description": "The document was stored (or, on a retry, had been)"},
        },
    )
    async def attach(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        form: Annotated[AttachDocumentForm, Form(media_type="multipart/form-data")],
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        file, kind, description = form.file, form.kind, form.description.strip()
        if not description:
            raise Refusal.invalid(
                "documents", "describe the document in a few words", field="description"
            )
        content = await file.read(MAX_BYTES + 1)
        operation = f"POST /requests/{case_id}/documents"
        fingerprint = {
            "kind": kind.value,
            "description": description,
            "sha256": hashlib.sha256(content).hexdigest(),
            "file_name": file.filename or "",
            "stage": form.stage.value if form.stage else None,
            "step": form.step.value if form.step else None,
        }
        key = caller_key(principal, idempotency_key, operation, fingerprint)
        answer = await document_commands.attach_document(
            ctx,
            principal,
            case_id,
            kind=kind,
            description=description,
            file_name=file.filename,
            content=content,
            key=key,
            correlation_id=correlation_id(request),
            stage=form.stage,
            step=form.step,
        )
        location = answer.body.get("href")
        headers = {"Location": location} if isinstance(location, str) else None
        return JSONResponse(status_code=answer.status_code, content=answer.body, headers=headers)

    @router.get(
        "/requests/{case_id}/documents",
        dependencies=[Depends(record_case_read(ctx, "intake.documents"))],
        response_model=list[DocumentView],
        summary="List the case's documents",
        description="The documents attached to the case (with the request or during the "
        "trajectory) and not removed, oldest first: kind, stage and step, description, size, "
        "SHA-256, who attached it and when. A report "
        "(`kind=report`) is not listed for a teacher or a route coach. After the pupil's "
        "erasure the description and file name read `[gewist]` and `readable` is false. "
        "Every role that reads the case, within reach; the read is logged.",
        responses=READ_ERRORS,
    )
    async def list_documents(principal: CurrentPrincipal, case_id: CaseId) -> list[DocumentView]:
        require_role(principal, READERS)
        require_sees(principal, await case_facts(ctx.pool, principal.swv, case_id))
        return await document_queries.documents_of(ctx.pool, principal, case_id)

    @router.get(
        "/requests/{case_id}/documents/{document_id}",
        response_class=Response,
        summary="Download one document",
        description="The document's content, decrypted for this answer, with its own media "
        "type and file name. Logged as a read of the case (view `intake.document`, with "
        "`?purpose=` or `X-Purpose` when given). **410** once the pupil was erased: the "
        "content is still stored, but only as ciphertext nobody can open. Roles: as the "
        "list.",
        responses=_DOWNLOAD,
    )
    async def download(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        document_id: DocumentId,
    ) -> Response:
        require_role(principal, READERS)
        require_sees(principal, await case_facts(ctx.pool, principal.swv, case_id))
        opened = await document_queries.document_content(ctx.pool, principal, case_id, document_id)
        purpose = request.query_params.get("purpose") or request.headers.get("x-purpose") or ""
        # Logged before it is served: a failing log refuses the read.
        await record_read(
            ctx.pool,
            principal,
            str(case_id),
            purpose=purpose.strip()[:500] or ORDINARY_PURPOSE,
            view=f"intake.document:{document_id}",
            correlation_id=correlation_id(request),
        )
        return Response(
            opened.content,
            media_type=opened.media_type,
            headers={
                "Content-Disposition": content_disposition(opened.file_name),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.post(
        "/requests/{case_id}/documents/{document_id}/removal",
        response_model=Accepted,
        summary="Remove a document from the request",
        description="Who attached the document, or the school's IB, removes it with a "
        "reason code. The encrypted content is deleted; "
        "`nl.passend.intake.DocumentRemoved.v1` records that it was there and who removed "
        "it. Roles: `ib`, `support_worker`, `education_specialist`, `team_no_member`.",
        responses=COMMAND_ERRORS,
    )
    async def remove(
        request: Request,
        principal: CurrentPrincipal,
        case_id: CaseId,
        document_id: DocumentId,
        body: RemoveDocumentBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /requests/{case_id}/documents/{document_id}/removal"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await document_commands.remove_document(
                ctx,
                principal,
                case_id,
                document_id,
                body.reason,
                key,
                correlation_id(request),
            )
        )

    return router
