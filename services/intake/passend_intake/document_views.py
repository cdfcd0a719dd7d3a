"""What the document endpoints answer: one document of a case as a reader sees it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from passend_contracts.events.intake import (
    DocumentKind,
    DocumentRemovalReason,
    DocumentStage,
    DocumentStep,
)

_EXAMPLE: dict[str, Any] = {
    "document_id": "9d4b2c1e-5f7a-4b8e-a1c3-6e2f0d9b7a45",
    "case_id": "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13",
    "kind": "groeidocument",
    "description": "Groeidocument na het eerste leerjaar",
    "file_name": "groeidocument.pdf",
    "media_type": "application/pdf",
    "size": 48213,
    "sha256": "5f2b3c0a9e1d4f6b8a7c2e0d1b3f5a7c9e2d4b6f8a0c1e3d5b7f9a2c4e6d8b0a",
    "attached_by": "ib-7731",
    "attached_by_role": "ib",
    "attached_at": "2026-09-14T08:40:00Z",
    "readable": True,
    "stage": "request",
    "step": None,
    "href": "/requests/3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13/documents/"
    "9d4b2c1e-5f7a-4b8e-a1c3-6e2f0d9b7a45",
}


class DocumentView(BaseModel):
    """One document of a request; description and file name decrypted for this answer
    (``[gewist]`` once the pupil was erased, when ``readable`` is false)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    document_id: UUID
    case_id: UUID
    kind: DocumentKind
    description: str
    file_name: str
    media_type: str = Field(description="The type found in the content")
    size: int = Field(description="Bytes")
    sha256: str
    attached_by: str
    attached_by_role: str
    attached_at: datetime
    readable: bool = Field(description="False once the pupil was erased: it can't be opened")
    href: str = Field(description="Where the content is downloaded")
    stage: DocumentStage = Field(
        default=DocumentStage.REQUEST, description="With the request or during the trajectory"
    )
    step: DocumentStep | None = Field(
        default=None, description="The trajectory's step it belongs to, when one was named"
    )


def _file_part(schema: dict[str, Any]) -> None:
    """A file part of the form, as OpenAPI says it (``format: binary``), so clients and
    generated tests send a file, not a text field."""
    schema.pop("contentMediaType", None)
    schema["format"] = "binary"


def _optional_part(schema: dict[str, Any]) -> None:
    """An optional form field is left out, never sent as null (a form has no null): the
    schema says the value's own type, not ``anyOf`` it or null."""
    choices = [c for c in schema.pop("anyOf", []) if c.get("type") != "null"]
    if len(choices) == 1:
        schema.update(choices[0])
    schema.pop("default", None)


class AttachDocumentForm(BaseModel):
    """The ``multipart/form-data`` form of an attached document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "file": "%PDF-1.7 ...",
                    "kind": "groeidocument",
                    "description": "Groeidocument na het eerste leerjaar",
                }
            ]
        }
    )

    file: UploadFile = Field(
        description="The document: PDF, DOCX, ODT, JPEG or PNG (by its content), at most 20 MB",
        json_schema_extra=_file_part,
    )
    kind: DocumentKind
    description: str = Field(
        min_length=1,
        max_length=300,
        description="What it is, in a few words (encrypted; not the pupil's name)",
    )
    stage: DocumentStage | None = Field(
        default=None,
        description="With the request or during the trajectory; when not given: the "
        "trajectory once a worker took the case up, else the request",
        json_schema_extra=_optional_part,
    )
    step: DocumentStep | None = Field(
        default=None,
        description="The trajectory's step it belongs to (start conversation, session, "
        "evaluation, escalation); implies the trajectory stage",
        json_schema_extra=_optional_part,
    )


class DocumentAttachedAnswer(BaseModel):
    """The document was stored: what identifies it, and where it is read."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    key: _EXAMPLE[key]
                    for key in ("case_id", "document_id", "kind", "media_type", "size", "sha256")
                }
                | {"version": 2, "href": _EXAMPLE["href"]}
            ]
        }
    )

    case_id: UUID
    document_id: UUID
    kind: DocumentKind
    media_type: str
    size: int
    sha256: str
    version: int = Field(description="The case's version after the document was attached")
    href: str
    stage: DocumentStage = DocumentStage.REQUEST
    step: DocumentStep | None = None


class RemoveDocumentBody(BaseModel):
    """Why the document goes (a code: no free text about the child)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "replaced"}]}
    )

    reason: DocumentRemovalReason
