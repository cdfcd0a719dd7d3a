"""Intake's HTTP routes for the privacy officer: erasure of a pupil on request (AVG art. 17).

Role ``privacy_officer`` only, within the officer's own SWV. Every preview is logged as a
read of each case it shows (purpose: the erasure request).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from passend_backbone.audit.readlog import record_read
from passend_backbone.auth import CurrentPrincipal
from passend_backbone.commands import IdempotencyHeader
from passend_backbone.service import ServiceContext
from passend_contracts.events.intake import (
    DocumentKind,
    DocumentRemovalReason,
    DocumentStage,
    DocumentStep,
)
from passend_intake import privacy
from passend_intake.api_common import caller_key, correlation_id, respond
from passend_intake.api_errors import COMMAND_ERRORS, READ_ERRORS

PupilRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="The school's pseudonymous pupil reference",
    ),
]
RequestId = Annotated[UUID, Path(description="The erasure request")]
# The reasons a privacy officer's reads are logged with: shown to the auditor, so in Dutch.
PURPOSE = "verzoek tot wissing (AVG art. 17)"
ACCESS_PURPOSE = "inzageverzoek (AVG art. 15)"


_REQUEST_EXAMPLE: dict[str, Any] = {
    "request_id": "0d7f7c1e-3a55-4f7e-9a0b-6c1d2e3f4a5b",
    "pupil_ref": "lln-0193a2c4e5f6",
    "requested_by": "The mother, by letter",
    "received_on": "2026-12-02",
    "grounds": "GDPR art. 17(1)(b): consent withdrawn",
    "decided_by": "fg-yvonne",
    "decided_at": "2026-12-04T10:00:00+00:00",
    "needs_confirmation": True,
    "confirmed_by": None,
    "rejected_by": None,
    "rejection_reason": None,
    "status": "awaiting_confirmation",
}
_CASE_EXAMPLE: dict[str, Any] = {
    "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
    "school_id": "brin-11aa",
    "submitted_at": "2026-09-14T08:30:00+00:00",
    "status": "in_trajectory",
    "on_erasure": "withdrawn",
}


class ErasureBody(BaseModel):
    """The officer's decision to grant a request for erasure."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "requested_by": "The mother, by letter",
                    "received_on": "2026-12-02",
                    "grounds": "GDPR art. 17(1)(b): consent withdrawn",
                }
            ]
        },
    )

    requested_by: str = Field(
        min_length=1, max_length=200, description="Who asked, e.g. 'the mother, by letter'"
    )
    received_on: date = Field(description="When the request came in")
    grounds: str = Field(
        min_length=1, max_length=2000, description="The ground, e.g. 'GDPR art. 17(1)(b)'"
    )


class RejectionBody(BaseModel):
    """The second officer's reason not to confirm."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "A legal duty to keep the OPP applies."}]},
    )

    reason: str = Field(min_length=1, max_length=2000)


class CaseOfPupil(BaseModel):
    """One case of the pupil and what an erasure does to it."""

    case_id: str
    school_id: str
    submitted_at: str
    status: str = Field(description="submitted, in_trajectory, escalated, withdrawn, closed")
    on_erasure: str = Field(description="withdrawn, stays_withdrawn or stays_closed")


class KeptItem(BaseModel):
    item: str
    legal_basis: str = Field(description="The legal ground, in Dutch as the law is cited")


class ErasureRequestView(BaseModel):
    """An erasure request: who asked, who decided, who confirmed or rejected."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REQUEST_EXAMPLE]})

    request_id: str
    pupil_ref: str
    requested_by: str
    received_on: str
    grounds: str
    decided_by: str
    decided_at: str
    needs_confirmation: bool
    confirmed_by: str | None
    rejected_by: str | None
    rejection_reason: str | None
    status: str = Field(description="awaiting_confirmation, carried_out or rejected")


class PupilPreview(BaseModel):
    """What erasing the pupil would do."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pupil_ref": "lln-0193a2c4e5f6",
                    "school_pupil_ref": "ll-2024-0193",
                    "erased": False,
                    "erased_at": None,
                    "cases": [_CASE_EXAMPLE],
                    "will_erase": [
                        "pupil_identity",
                        "parent_contacts",
                        "personal_links",
                        "documents",
                    ],
                    "kept": [{"item": "read_log", "legal_basis": "AVG art. 5 lid 2 en art. 32"}],
                    "needs_second_officer": True,
                    "requests": [_REQUEST_EXAMPLE],
                }
            ]
        }
    )

    pupil_ref: str = Field(description="Intake's pseudonym of the pupil, as events name it")
    school_pupil_ref: str | None = Field(
        default=None,
        description="The school's own reference of the pupil; null once erased (then it "
        "names nobody in Passend any more)",
    )
    erased: bool
    erased_at: str | None
    cases: list[CaseOfPupil]
    will_erase: list[str]
    kept: list[KeptItem]
    needs_second_officer: bool
    requests: list[ErasureRequestView]


class PendingRequests(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"requests": [_REQUEST_EXAMPLE]}]})

    requests: list[ErasureRequestView]


class ExportedDocument(BaseModel):
    """A document of one of the pupil's cases, as the access export lists it (W22)."""

    document_id: str
    case_id: str
    kind: DocumentKind
    stage: DocumentStage
    step: DocumentStep | None
    media_type: str
    size: int = Field(description="Bytes")
    sha256: str
    attached_by: str
    attached_by_role: str
    attached_at: datetime
    removed_by: str | None
    removed_at: datetime | None
    removal_reason: DocumentRemovalReason | None


class PupilExport(BaseModel):
    """Intake's part of an access export."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pupil_ref": "lln-0193a2c4e5f6",
                    "school_pupil_ref": "ll-2024-0193",
                    "erased": False,
                    "identity": {
                        "name": "Sam Jansen",
                        "date_of_birth": "2016-04-12",
                        "parents": [
                            {
                                "parent_ref": "guardian-1f4e",
                                "name": "J. Jansen",
                                "email": "j.jansen@example.nl",
                                "phone": "0612345678",
                            }
                        ],
                    },
                    "cases": [_CASE_EXAMPLE],
                    "pupil_events": [],
                }
            ]
        }
    )

    pupil_ref: str = Field(description="Intake's pseudonym of the pupil, as events name it")
    school_pupil_ref: str | None = Field(
        default=None,
        description="The school's own reference of the pupil; null once erased (then it "
        "names nobody in Passend any more)",
    )
    erased: bool
    identity: dict[str, Any] | None
    cases: list[CaseOfPupil]
    pupil_events: list[dict[str, Any]]
    documents: list[ExportedDocument] = Field(
        default=[],
        description="Every document of the pupil's cases: what, when and by whom, its size "
        "and hash; never its content, file name or description",
    )


class NamedPupil(BaseModel):
    pupil_ref: str = Field(description="Intake's pseudonym of the pupil, as events name it")
    school_id: str = Field(description="The school whose pupil it is")
    school_pupil_ref: str = Field(description="That school's own reference of the pupil")


class NamedPupils(BaseModel):
    """The pupils a reference names (a school reference: one per school that has it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pupils": [
                        {
                            "pupil_ref": "lln-0193a2c4e5f6",
                            "school_id": "brin-11aa",
                            "school_pupil_ref": "12345",
                        },
                        {
                            "pupil_ref": "lln-8e21d07fa3b4",
                            "school_id": "brin-22bb",
                            "school_pupil_ref": "12345",
                        },
                    ]
                }
            ]
        }
    )

    pupils: list[NamedPupil]


def privacy_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix="/privacy", tags=["privacy"])

    @router.get(
        "/pupils",
        summary="Which pupils a reference names",
        description="Schools number their own pupils, so one school reference may name "
        "pupils of several schools of the SWV (then `/privacy/pupils/{pupil_ref}` refuses it, "
        "409, rule `pupil_reference_ambiguous`). Lists the pupils, not erased, that `ref` "
        "names: by intake's pseudonym one, by a school reference one per school that has it. "
        "Only pseudonyms, schools and references: no case, so no read is logged. "
        "Role: `privacy_officer`.",
        response_model=NamedPupils,
        responses=READ_ERRORS,
    )
    async def named(
        principal: CurrentPrincipal,
        ref: Annotated[
            str,
            Query(
                min_length=1,
                max_length=64,
                pattern=r"^[A-Za-z0-9._-]+$",
                description="A school's reference of a pupil, or intake's pseudonym",
            ),
        ],
    ) -> dict[str, Any]:
        return {"pupils": await privacy.pupils_named(ctx, principal, ref)}

    @router.get(
        "/pupils/{pupil_ref}",
        summary="What erasing a pupil would do",
        description="The pupil's cases and what happens to each (an open one is withdrawn, "
        "which ends its trajectory in every service), what is erased, what is kept and on "
        "which legal basis, whether the SWV requires a second officer, and the erasure "
        "requests so far. Logged as a read of each case. Role: `privacy_officer`.",
        response_model=PupilPreview,
        responses=READ_ERRORS,
    )
    async def preview(
        request: Request, principal: CurrentPrincipal, pupil_ref: PupilRef
    ) -> dict[str, Any]:
        privacy.require_officer(principal)
        found = await privacy.preview(ctx, principal, pupil_ref)
        for case in found["cases"]:
            await record_read(
                ctx.pool,
                principal,
                case["case_id"],
                purpose=PURPOSE,
                view="intake.privacy.preview",
                correlation_id=correlation_id(request),
            )
        return found

    @router.get(
        "/pupils/{pupil_ref}/export",
        summary="Intake's part of an access export (GDPR art. 15)",
        description="The pupil's identity and parents (unless erased), the cases, the "
        "events about the pupil outside a case, and the cases' documents (kind, stage, size, "
        "SHA-256, when and by whom; never the content). Each case's events and reads come from "
        "every service's `/audit/cases/{case_id}/events` (`passend-privacy export` puts "
        "them together). Logged as a read of each case. Role: `privacy_officer`.",
        response_model=PupilExport,
        responses=READ_ERRORS,
    )
    async def export(
        request: Request, principal: CurrentPrincipal, pupil_ref: PupilRef
    ) -> dict[str, Any]:
        found = await privacy.export_part(ctx, principal, pupil_ref)
        for case in found["cases"]:
            await record_read(
                ctx.pool,
                principal,
                case["case_id"],
                purpose=ACCESS_PURPOSE,
                view="intake.privacy.export",
                correlation_id=correlation_id(request),
            )
        return found

    @router.get(
        "/erasure-requests",
        summary="Erasure requests awaiting a second officer",
        description="Every pending request of the officer's SWV, oldest first. "
        "Role: `privacy_officer`.",
        response_model=PendingRequests,
        responses=READ_ERRORS,
    )
    async def pending(principal: CurrentPrincipal) -> dict[str, Any]:
        privacy.require_officer(principal)
        return {"requests": await privacy.pending(ctx, principal)}

    @router.post(
        "/pupils/{pupil_ref}/erasure",
        summary="Erase a pupil on request (GDPR art. 17)",
        description="Records who asked, when, on what ground and who decided "
        "(`ErasureRequested`). Without a second officer the pupil is erased in the same "
        "transaction (`status` `carried_out`): the key is destroyed (`PupilErased`), an "
        "open request is withdrawn and every case records `CaseErased`. Where the SWV "
        "requires a second officer (`INTAKE_ERASURE_SECOND_OFFICER`) the request waits for "
        "confirmation "
        "(`status` `awaiting_confirmation`). Role: `privacy_officer`.",
        response_model=ErasureRequestView,
        responses=COMMAND_ERRORS,
    )
    async def erase(
        request: Request,
        principal: CurrentPrincipal,
        pupil_ref: PupilRef,
        body: ErasureBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /privacy/pupils/{pupil_ref}/erasure"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await privacy.request_erasure(
                ctx,
                principal,
                pupil_ref,
                requested_by=body.requested_by,
                received_on=body.received_on,
                grounds=body.grounds,
                key=key,
                correlation_id=correlation_id(request),
            )
        )

    @router.post(
        "/erasure-requests/{request_id}/confirmation",
        summary="Confirm a pending erasure as the second officer",
        description="Another privacy officer than the one who decided confirms; the pupil "
        "is erased in the same transaction. The deciding officer is refused (403, rule "
        "`erasure_second_officer`). Role: `privacy_officer`.",
        response_model=ErasureRequestView,
        responses=COMMAND_ERRORS,
    )
    async def confirm(
        request: Request,
        principal: CurrentPrincipal,
        request_id: RequestId,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /privacy/erasure-requests/{request_id}/confirmation"
        key = caller_key(principal, idempotency_key, operation)
        return respond(
            await privacy.confirm_erasure(ctx, principal, request_id, key, correlation_id(request))
        )

    @router.post(
        "/erasure-requests/{request_id}/rejection",
        summary="Do not confirm a pending erasure",
        description="The second officer records why; nothing is erased. Role: `privacy_officer`.",
        response_model=ErasureRequestView,
        responses=COMMAND_ERRORS,
    )
    async def reject(
        request: Request,
        principal: CurrentPrincipal,
        request_id: RequestId,
        body: RejectionBody,
        idempotency_key: IdempotencyHeader = None,
    ) -> JSONResponse:
        operation = f"POST /privacy/erasure-requests/{request_id}/rejection"
        key = caller_key(principal, idempotency_key, operation, body.model_dump(mode="json"))
        return respond(
            await privacy.reject_erasure(
                ctx, principal, request_id, body.reason, key, correlation_id(request)
            )
        )

    return router
