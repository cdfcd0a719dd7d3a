"""Reading a request's documents: the list a reader may see, and one document's content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from passend_backbone.auth import Principal
from passend_backbone.commands import Refusal
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.texts.tokens import ERASED
from passend_contracts.events.intake import DocumentKind
from passend_intake import document_sealing, pupil_keys
from passend_intake.document_store import DEFAULT_STORE, DocumentStore
from passend_intake.document_views import DocumentView
from passend_intake.domain.documents import DocumentsErased, may_read_kind
from passend_intake.projections import RequestsProjection

_COLUMNS = """
SELECT document_id, case_id, pupil_ref, key_id, kind, media_type, size, sha256, file_name,
       description, attached_by, attached_by_role, attached_at, stage, step
FROM public.documents
WHERE swv = $1 AND case_id = $2 AND removed_at IS NULL
"""


@dataclass(frozen=True)
class DocumentContent:
    """A document opened for its reader: the bytes, their type and the file's name."""

    content: bytes
    media_type: str
    file_name: str
    kind: DocumentKind


def no_such_document() -> Refusal:
    """404: unknown, removed, of another case, or of a kind the reader does not see."""
    return Refusal.not_found("documents", "no such document on this case")


def _opened(
    row: asyncpg.Record, key: pupil_keys.PupilKey | None, swv: str, part: str
) -> str | None:
    if key is None:
        return None
    sealed = bytes(row[part])
    plain = document_sealing.open_sealed(
        sealed, key, swv, row["pupil_ref"], row["document_id"], part
    )
    return plain.decode()


async def documents_of(
    pool: asyncpg.Pool, principal: Principal, case_id: UUID
) -> list[DocumentView]:
    """The case's documents of the kinds the reader sees, oldest first; description and
    file name read ``[gewist]`` once the pupil was erased."""
    swv = principal.swv
    async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
        rows = await conn.fetch(_COLUMNS + "ORDER BY attached_at, document_id", swv, case_id)
        keys: dict[UUID, pupil_keys.PupilKey | None] = {}
        shown = []
        for row in rows:
            kind = DocumentKind(row["kind"])
            if not may_read_kind(principal.role, kind):
                continue
            if row["key_id"] not in keys:
                keys[row["key_id"]] = await pupil_keys.key_by_id(conn, str(row["key_id"]))
            key = keys[row["key_id"]]
            shown.append(
                DocumentView(
                    document_id=row["document_id"],
                    case_id=row["case_id"],
                    kind=kind,
                    description=_opened(row, key, swv, document_sealing.DESCRIPTION) or ERASED,
                    file_name=_opened(row, key, swv, document_sealing.FILE_NAME) or ERASED,
                    media_type=row["media_type"],
                    size=row["size"],
                    sha256=row["sha256"],
                    attached_by=row["attached_by"],
                    attached_by_role=row["attached_by_role"],
                    attached_at=row["attached_at"],
                    readable=key is not None,
                    stage=row["stage"],
                    step=row["step"],
                    href=f"/requests/{case_id}/documents/{row['document_id']}",
                )
            )
    return shown


async def document_content(
    pool: asyncpg.Pool,
    principal: Principal,
    case_id: UUID,
    document_id: UUID,
    store: DocumentStore = DEFAULT_STORE,
) -> DocumentContent:
    """The document opened with the pupil's key; 404 when the reader does not see it,
    :class:`DocumentsErased` (410) once the pupil's key is gone."""
    swv = principal.swv
    async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
        row = await conn.fetchrow(_COLUMNS + "AND document_id = $3", swv, case_id, document_id)
        if row is None:
            raise no_such_document()
        kind = DocumentKind(row["kind"])
        if not may_read_kind(principal.role, kind):
            raise no_such_document()
        key = await pupil_keys.key_by_id(conn, str(row["key_id"]))
        if key is None:
            raise DocumentsErased("the pupil of this case was erased")
        sealed = await store.get(conn, swv, document_id)
    if sealed is None:
        raise no_such_document()
    content = document_sealing.open_sealed(
        sealed, key, swv, row["pupil_ref"], document_id, document_sealing.CONTENT
    )
    if hashlib.sha256(content).hexdigest() != row["sha256"]:
        # Sealed content can't change unnoticed; a mismatch is a bug, never served.
        raise pupil_keys.IdentityUnreadable(f"document {document_id} does not match its hash")
    file_name = _opened(row, key, swv, document_sealing.FILE_NAME) or "document"
    return DocumentContent(content, row["media_type"], file_name, kind)
