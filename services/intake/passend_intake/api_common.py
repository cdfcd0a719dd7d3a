"""What the intake routes share: correlation id, Idempotency-Key, path parameters, readers."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from passend_backbone.auth import Principal
from passend_backbone.auth.policy import CASE_ROLES
from passend_backbone.commands import IdempotencyKey, StoredAnswer
from passend_backbone.correlation import correlation_id_of
from passend_intake.retry_keys import key_of

# Who may read requests and consent: passend_intake.access.READERS (kept here for importers).
READERS = tuple(sorted(CASE_ROLES))

CaseId = Annotated[UUID, Path(description="The case id returned by `POST /requests`")]


def correlation_id(request: Request) -> str:
    """The id the lifecycle's middleware put on the request (or a new one outside it)."""
    return correlation_id_of(request.state)


def caller_key(
    principal: Principal, header: str | None, operation: str, body: Any = None
) -> IdempotencyKey | None:
    """The caller's Idempotency-Key for ``operation`` (method, path with its parameters)
    and ``body``; None when no key was sent."""
    return key_of(principal.swv, principal.subject, header, operation, body)


def respond(answer: StoredAnswer) -> JSONResponse:
    """A command's answer (the first one, for a retry with its key) as the HTTP response."""
    return JSONResponse(status_code=answer.status_code, content=answer.body)
