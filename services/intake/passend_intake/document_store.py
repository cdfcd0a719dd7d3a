"""Where the sealed content of documents is kept: one small interface, PostgreSQL by default.

Only ciphertext ever reaches a store (sealed with the pupil's key by
:mod:`passend_intake.document_sealing`), so a store needs no secrets of its own and an
erased pupil's documents stay unreadable in every copy of it. An S3-compatible store
can implement the same three methods; it writes outside the database transaction, so a
command rolled back after its ``put`` leaves an orphan object (ciphertext only, never
listed), which such a store would sweep.
"""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID


class DocumentStore(Protocol):
    """Keeps the sealed content of each document by tenant and document id."""

    async def put(self, tx: Any, swv: str, document_id: UUID, sealed: bytes) -> None:
        """Keep ``sealed`` (in the command's transaction ``tx`` where the store has one)."""
        ...

    async def get(self, conn: Any, swv: str, document_id: UUID) -> bytes | None:
        """The sealed content, or None when it was removed (or never stored)."""
        ...

    async def delete(self, tx: Any, swv: str, document_id: UUID) -> None:
        """Forget the content (a removed document); idempotent."""
        ...


class PostgresDocumentStore:
    """The content in intake's own database (table ``document_contents``), in the
    command's transaction: the event and the content commit together or not at all."""

    async def put(self, tx: Any, swv: str, document_id: UUID, sealed: bytes) -> None:
        await tx.execute(
            "INSERT INTO public.document_contents (swv, document_id, sealed) VALUES ($1, $2, $3)",
            swv,
            document_id,
            sealed,
        )

    async def get(self, conn: Any, swv: str, document_id: UUID) -> bytes | None:
        value = await conn.fetchval(
            "SELECT sealed FROM public.document_contents WHERE swv = $1 AND document_id = $2",
            swv,
            document_id,
        )
        return bytes(value) if value is not None else None

    async def delete(self, tx: Any, swv: str, document_id: UUID) -> None:
        await tx.execute(
            "DELETE FROM public.document_contents WHERE swv = $1 AND document_id = $2",
            swv,
            document_id,
        )


DEFAULT_STORE: DocumentStore = PostgresDocumentStore()
