"""How intake's exceptions become HTTP answers, and the documented error responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.eventstore import ConcurrencyError
from passend_intake.consent_links import LinkNotUsable
from passend_intake.domain.errors import InvalidCommand, StateConflict
from passend_intake.handlers import CaseNotFound, NotAllowed
from passend_intake.idempotency import IdempotencyKeyReused
from passend_intake.pupil_keys import IdentityUnreadable
from passend_intake.schemas import ErrorBody


def _answer(status: int, detail: dict[str, Any]) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def install_error_handlers(app: FastAPI) -> None:
    """Map domain and infrastructure exceptions to status codes with a ``detail`` object."""

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidCommand)
        return _answer(422, exc.detail())

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StateConflict)
        return _answer(409, exc.detail())

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return _answer(404, {"message": "no such case"})

    async def forbidden(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NotAllowed)
        detail = {"message": str(exc)}
        if exc.rule:
            detail["rule"] = exc.rule
        return _answer(403, detail)

    async def key_reused(_: Request, exc: Exception) -> JSONResponse:
        return _answer(422, {"field": "Idempotency-Key", "message": str(exc)})

    async def gone(_: Request, exc: Exception) -> JSONResponse:
        return _answer(410, {"rule": "W10", "message": str(exc)})

    async def raced(_: Request, exc: Exception) -> JSONResponse:
        return _answer(409, {"message": "the case changed meanwhile: reload and try again"})

    async def starting(_: Request, exc: Exception) -> JSONResponse:
        return _answer(503, {"message": "the read model is being set up: try again shortly"})

    async def unreadable(_: Request, exc: Exception) -> JSONResponse:
        return _answer(500, {"message": "the pupil's identity could not be decrypted"})

    app.add_exception_handler(InvalidCommand, invalid)
    app.add_exception_handler(StateConflict, conflict)
    app.add_exception_handler(CaseNotFound, not_found)
    app.add_exception_handler(NotAllowed, forbidden)
    app.add_exception_handler(IdempotencyKeyReused, key_reused)
    app.add_exception_handler(LinkNotUsable, gone)
    app.add_exception_handler(ConcurrencyError, raced)
    app.add_exception_handler(ProjectionNotSetUp, starting)
    app.add_exception_handler(IdentityUnreadable, unreadable)


def _doc(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"detail": example}}},
    }


NOT_FOUND = _doc(
    "No such case for this caller: unknown, or another school's or SWV's (answered as if it "
    "did not exist)",
    {"message": "no such case"},
)
FORBIDDEN = _doc(
    "The caller's role may not do this at all",
    {"message": "role teacher may not do this; allowed: ib"},
)
UNAUTHENTICATED = _doc("No or an invalid bearer token", {"message": "a bearer token is required"})
CONFLICT = _doc(
    "The case's state does not allow this now; the message says what to do",
    {"rule": "W10", "message": "consent was not requested yet: the school asks first"},
)
INVALID = {
    "description": "Validation failed: `detail` names the field and why (a list from schema "
    "validation, or an object with `rule`, `field` and `message` from a domain rule). "
    "Nothing was written.",
    "content": {
        "application/json": {
            "examples": {
                "schema": {
                    "summary": "A field fails its schema",
                    "value": {
                        "detail": [
                            {
                                "type": "string_too_short",
                                "loc": ["body", "why_stuck"],
                                "msg": "String should have at least 1 character",
                                "input": "",
                            }
                        ]
                    },
                },
                "rule": {
                    "summary": "A domain rule refuses (here W5, system guidance)",
                    "value": {
                        "detail": {
                            "rule": "W5",
                            "field": "levels",
                            "message": "refused: systematic, long-term guidance of the school "
                            "organisation is not part of the support worker's tasks",
                        }
                    },
                },
            }
        }
    },
}
COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
    422: INVALID,
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
}
