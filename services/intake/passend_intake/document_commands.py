"""Handling the document commands: attach a checked, sealed document (W22), remove one."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from uuid import UUID

from passend_backbone.auth import Principal
from passend_backbone.commands import IdempotencyKey, Outcome, StoredAnswer
from passend_backbone.service import ServiceContext
from passend_contracts.events.intake import (
    DocumentKind,
    DocumentRemovalReason,
    DocumentStage,
    DocumentStep,
)
from passend_intake import document_sealing, pupil_keys, queries
from passend_intake.access import case_facts, command_check, require_role
from passend_intake.case_commands import accepted, run_command
from passend_intake.document_checks import EXTENSIONS, checked
from passend_intake.document_store import DEFAULT_STORE, DocumentStore
from passend_intake.domain.documents import (
    ATTACHERS,
    AttachDocument,
    DocumentsErased,
    RemoveDocument,
    stage_of,
)
from passend_intake.domain.state import CaseState

_INSERT = """
INSERT INTO public.documents (swv, document_id, case_id, pupil_ref, key_id, kind, media_type,
    size, sha256, file_name, description, attached_by, attached_by_role, attached_at, stage,
    step)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
"""
_REMOVED = """
UPDATE public.documents SET removed_by = $3, removed_at = $4, removal_reason = $5
WHERE swv = $1 AND document_id = $2
"""
# A file name is kept for the download only: no path, and no longer than a file system's.
_MAX_NAME = 200


def file_name_of(given: str | None, media_type: str) -> str:
    """The name the download gets: the uploaded file's own name (its last path part), or
    ``document.<ext>`` when none was given."""
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(c for c in name if c.isprintable())[:_MAX_NAME]
    return name or f"document.{EXTENSIONS[media_type]}"


async def attach_document(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    *,
    kind: DocumentKind,
    description: str,
    file_name: str | None,
    content: bytes,
    key: IdempotencyKey | None,
    correlation_id: str,
    stage: DocumentStage | None = None,
    step: DocumentStep | None = None,
    store: DocumentStore = DEFAULT_STORE,
) -> StoredAnswer:
    """W22: check the file (size, type by content, a readable PDF), seal it with the
    pupil's key, and record ``DocumentAttached`` with the sealed rows in one transaction.

    A bad file is refused (413, 415, 422) before anything is stored; an erased pupil's
    case answers 410 (there is no key to seal with, and none is made again). The stage
    (request or trajectory) is the one given, or the one the case is in (``stage_of``).
    """
    require_role(principal, ATTACHERS)
    media_type = checked(content)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    taken_up = (await queries.progress(ctx.pool, principal.swv, case_id)).claimed_by is not None
    swv = principal.swv
    now = ctx.clock()
    document_id = uuid.uuid4()
    digest = hashlib.sha256(content).hexdigest()
    name = file_name_of(file_name, media_type)
    sealed: dict[str, Any] = {}
    stage_step: dict[str, Any] = {"step": step}

    async def prepare(tx: Any, state: CaseState) -> AttachDocument:
        # After the reach check: a case out of reach answers 404, never about its stage.
        stage_step["stage"] = stage_of(stage, step, taken_up=taken_up)
        sealing_key = await pupil_keys.existing_key(tx, swv, state.pupil_ref)
        if sealing_key is None or state.erased_at is not None:
            raise DocumentsErased("the pupil of this case was erased")

        def seal(plain: bytes, part: str) -> bytes:
            return document_sealing.seal(
                plain, sealing_key, swv, state.pupil_ref, document_id, part
            )

        sealed.update(
            key_id=sealing_key.key_id,
            pupil_ref=state.pupil_ref,
            content=seal(content, document_sealing.CONTENT),
            file_name=seal(name.encode(), document_sealing.FILE_NAME),
            description=seal(description.encode(), document_sealing.DESCRIPTION),
        )
        return AttachDocument(
            case_id=case_id,
            document_id=document_id,
            kind=kind,
            media_type=media_type,
            size=len(content),
            sha256=digest,
            attached_by=principal.subject,
            attached_by_role=principal.role,
            stage=stage_step["stage"],
            step=step,
        )

    async def keep(tx: Any, outcome: Outcome[CaseState]) -> None:
        await store.put(tx, swv, document_id, sealed["content"])
        await tx.execute(
            _INSERT,
            swv,
            document_id,
            case_id,
            sealed["pupil_ref"],
            sealed["key_id"],
            kind.value,
            media_type,
            len(content),
            digest,
            sealed["file_name"],
            sealed["description"],
            principal.subject,
            principal.role.value,
            now,
            stage_step["stage"].value,
            step.value if step else None,
        )

    def created(outcome: Outcome[CaseState]) -> StoredAnswer:
        return StoredAnswer(
            201,
            {
                "case_id": str(case_id),
                "document_id": str(document_id),
                "kind": kind.value,
                "media_type": media_type,
                "size": len(content),
                "sha256": digest,
                "version": outcome.version,
                "href": f"/requests/{case_id}/documents/{document_id}",
                "stage": stage_step["stage"].value,
                "step": step.value if step else None,
            },
        )

    return await run_command(
        ctx.commands,
        case_id,
        prepare=prepare,
        tenant=swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=command_check(principal, known),
        after=keep,
        answer=created,
    )


async def remove_document(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    document_id: UUID,
    reason: DocumentRemovalReason,
    key: IdempotencyKey | None,
    correlation_id: str,
    store: DocumentStore = DEFAULT_STORE,
) -> StoredAnswer:
    """W22: ``DocumentRemoved`` and the sealed content deleted, in one transaction."""
    require_role(principal, ATTACHERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    now = ctx.clock()
    command = RemoveDocument(
        case_id=case_id,
        document_id=document_id,
        reason=reason,
        removed_by=principal.subject,
        removed_by_role=principal.role,
    )

    async def forget(tx: Any, outcome: Outcome[CaseState]) -> None:
        await store.delete(tx, principal.swv, document_id)
        await tx.execute(
            _REMOVED,
            principal.swv,
            document_id,
            principal.subject,
            now,
            reason.value,
        )

    return await run_command(
        ctx.commands,
        case_id,
        command,
        tenant=principal.swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=command_check(principal, known),
        after=forget,
        answer=accepted(200),
    )
