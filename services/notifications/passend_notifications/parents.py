"""A case's parents, asked of intake when a message to one of them is delivered.

Intake owns the parents' details: they arrive with the school's request and are kept only
sealed with the pupil's key. This service keeps none of them. A message to a parent names
the case and the school's reference of the parent; the delivery worker asks intake for
exactly that pair (``GET /internal/cases/{case_id}/parents/{parent_ref}``), with the event
the message is about, and gets the address, the name, the school's name, the child's
first name and the personal link that event made. Nothing of the answer is stored or
logged: it is rendered into the e-mail and dropped. So a parent can't be reached through
another case's parent of the same reference, and once intake erased the pupil nobody can
be reached at all (intake answers 410).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from uuid import UUID

import httpx

from passend_notifications.channels.outcome import NO_RECIPIENT, DeliveryFailed


@dataclass(frozen=True)
class ParentLink:
    purpose: str  # consent or withdrawal
    token: str | None  # None once the link can't be used
    expires_at: datetime
    state: str  # open, used, expired, voided


@dataclass(frozen=True)
class Parent:
    """One parent of one case, for one message; never stored."""

    name: str
    email: str | None
    school_name: str | None
    child_first_name: str
    link: ParentLink | None

    def __repr__(self) -> str:
        # Personal data: keep it out of tracebacks and log lines.
        return "Parent(<redacted>)"


class PupilErased(Exception):
    """Intake erased the pupil: there is nobody to tell any more."""


class ParentDirectory(Protocol):
    """Where the parents' details come from (intake; a fake in tests)."""

    async def parent(self, swv: str, case_id: UUID, parent_ref: str, cause: UUID) -> Parent:
        """The parent, or :class:`PupilErased`, or :class:`DeliveryFailed` (not reachable
        now, or not known)."""
        ...


class ServiceTokens(Protocol):
    def token(self, swv: str) -> str | None:
        """This service's bearer token for ``swv`` (role ``service``), if it has one."""
        ...


class TokenDirectory:
    """Tokens from a directory of ``<swv>.jwt`` files, read again whenever a file changes.

    Whatever issues the tokens (the identity provider's client-credentials grant, run by
    the deployment; ``passend-dev`` in development) renews the files; the service never
    holds a signing key.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._read: dict[str, tuple[float, str]] = {}

    def token(self, swv: str) -> str | None:
        path = self.directory / f"{swv}.jwt"
        try:
            changed = path.stat().st_mtime
        except OSError:
            return None
        known = self._read.get(swv)
        if known is None or known[0] != changed:
            known = (changed, path.read_text(encoding="utf-8").strip())
            self._read[swv] = known
        return known[1] or None


class IntakeParents:
    """The parents' details from intake's internal endpoint, with a service token."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, tokens: ServiceTokens) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens

    async def parent(self, swv: str, case_id: UUID, parent_ref: str, cause: UUID) -> Parent:
        token = self.tokens.token(swv)
        if token is None:
            raise DeliveryFailed(
                f"no service token for intake in SWV {swv}", code=NO_RECIPIENT, permanent=False
            )
        url = f"{self.base_url}/internal/cases/{case_id}/parents/{parent_ref}"
        try:
            answer = await self.client.get(
                url,
                params={"cause": str(cause)},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                f"intake not reached: {type(exc).__name__}", code="unreachable"
            ) from exc
        if answer.status_code == 410:
            raise PupilErased()
        if answer.status_code == 404:
            # Intake's read of the case may lag a moment behind the event; try again later.
            raise DeliveryFailed("intake does not know this parent of the case", code=NO_RECIPIENT)
        if answer.status_code != 200:
            raise DeliveryFailed(f"intake answered HTTP {answer.status_code}", code="unreachable")
        body = answer.json()
        link = body.get("link")
        return Parent(
            name=str(body["name"]),
            email=body.get("email"),
            school_name=body.get("school_name"),
            child_first_name=str(body["child_first_name"]),
            link=ParentLink(
                purpose=str(link["purpose"]),
                token=link.get("token"),
                expires_at=datetime.fromisoformat(str(link["expires_at"])),
                state=str(link["state"]),
            )
            if link
            else None,
        )
