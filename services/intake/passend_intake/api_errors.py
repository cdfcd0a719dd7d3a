"""Intake's own exceptions as problem-details answers, and its documented error answers.

Refusals, invalid requests and a read model not set up yet are answered by the backbone
(``passend_backbone.http_errors``, installed by the lifecycle in every service).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from passend_backbone.http_errors import (
    COMMAND_ERRORS,
    READ_ERRORS,
    problem,
    problem_responses,
)
from passend_intake.consent_links import LinkNotUsable
from passend_intake.document_checks import BadDocument
from passend_intake.domain.documents import DocumentsErased
from passend_intake.parent_facts import PupilErased
from passend_intake.pupil_keys import IdentityUnreadable

NOT_FOUND = problem_responses(404)[404]
GONE = problem_responses(410)[410]
DOCUMENTS_ERASED = (
    "De leerling is gewist: de documenten bij deze aanvraag kunnen niet meer worden geopend "
    "en er kunnen geen documenten meer bij."
)

__all__ = ["COMMAND_ERRORS", "GONE", "NOT_FOUND", "READ_ERRORS", "install_error_handlers"]


def install_error_handlers(app: FastAPI) -> None:
    """A used, expired or replaced consent link (410); an erased pupil's parents (410); an
    identity that won't open (500); a file that can't be a document (413, 415, 422) and an
    erased pupil's documents (410), both with a Dutch ``detail`` the school can act on."""

    async def gone(_: Request, exc: Exception) -> JSONResponse:
        return problem(410, str(exc), rule="W10")

    async def unreadable(_: Request, exc: Exception) -> JSONResponse:
        return problem(500, "the pupil's identity could not be decrypted")

    async def erased(_: Request, exc: Exception) -> JSONResponse:
        return problem(410, "the pupil was erased: the parents' details are gone", rule="erasure")

    async def bad_document(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BadDocument)
        return problem(exc.status, exc.message, rule="documents", field="file")

    async def documents_erased(_: Request, exc: Exception) -> JSONResponse:
        return problem(410, DOCUMENTS_ERASED, rule="erasure")

    app.add_exception_handler(LinkNotUsable, gone)
    app.add_exception_handler(BadDocument, bad_document)
    app.add_exception_handler(DocumentsErased, documents_erased)
    app.add_exception_handler(PupilErased, erased)
    app.add_exception_handler(IdentityUnreadable, unreadable)
