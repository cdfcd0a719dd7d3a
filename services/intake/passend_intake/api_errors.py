"""Intake's own exceptions as HTTP answers, and the documented error responses.

Refusals and a read model not set up yet are answered by the backbone's handlers
(``passend_backbone.http_errors``, installed by the lifecycle in every service).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from passend_intake.consent_links import LinkNotUsable
from passend_intake.pupil_keys import IdentityUnreadable
from passend_intake.schemas import ErrorBody


def _answer(status: int, detail: dict[str, Any]) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def install_error_handlers(app: FastAPI) -> None:
    """A used, expired or replaced consent link (410); an identity that won't open (500)."""

    async def gone(_: Request, exc: Exception) -> JSONResponse:
        return _answer(410, {"rule": "W10", "message": str(exc)})

    async def unreadable(_: Request, exc: Exception) -> JSONResponse:
        return _answer(500, {"message": "the pupil's identity could not be decrypted"})

    app.add_exception_handler(LinkNotUsable, gone)
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
    {"rule": "case_reach", "message": "no such case"},
)
FORBIDDEN = _doc(
    "The caller's role may not do this at all",
    {"rule": "roles", "message": "role teacher may not do this; allowed: ib"},
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
                "key": {
                    "summary": "The Idempotency-Key was used before for another request",
                    "value": {
                        "detail": {
                            "rule": "idempotency",
                            "field": "Idempotency-Key",
                            "message": "this Idempotency-Key was used before for a different "
                            "request: use a new key for a new request",
                        }
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
