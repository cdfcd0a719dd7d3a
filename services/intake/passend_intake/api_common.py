"""What the intake routes share: the correlation id, path parameters and reader roles."""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

from fastapi import Path, Request

from passend_backbone.auth.policy import CASE_ROLES

# Who may read requests and consent: passend_intake.access.READERS (kept here for importers).
READERS = tuple(sorted(CASE_ROLES))

CaseId = Annotated[UUID, Path(description="The case id returned by `POST /requests`")]


def correlation_id(request: Request) -> str:
    """The id the runtime's middleware put on the request (or a new one outside it)."""
    value = getattr(request.state, "correlation_id", None)
    return str(value) if value else str(uuid.uuid4())
