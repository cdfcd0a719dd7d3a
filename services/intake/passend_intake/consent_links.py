"""Personal consent links: a random token for one parent, valid once and until it expires.

Only the token's SHA-256 is stored; the token goes to the school once, in the answer to
the consent request, and never into an event, a log line or a table.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg


class LinkState(StrEnum):
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    VOIDED = "voided"  # replaced by a newer request, or the case was decided otherwise


@dataclass(frozen=True)
class ConsentLink:
    swv: str
    case_id: UUID
    parent_ref: str
    expires_at: datetime
    state: LinkState


class LinkNotUsable(Exception):
    """The link exists but can't be used (any more); ``state`` says why."""

    def __init__(self, link: ConsentLink) -> None:
        reasons = {
            LinkState.USED: "this link was used already; a link works once",
            LinkState.EXPIRED: f"this link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC",
            LinkState.VOIDED: "this link was replaced by a newer request from the school",
        }
        super().__init__(reasons.get(link.state, "this link can't be used"))
        self.link = link


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def subject_of(token: str) -> str:
    """Who answers through the link, for scoping an Idempotency-Key: the link itself
    (by its hash; the token never leaves the request)."""
    return f"consent-link:{token_hash(token).hex()}"


async def issue(
    conn: asyncpg.Connection,
    swv: str,
    case_id: UUID,
    parent_ref: str,
    issued_by: str,
    now: datetime,
    expires_at: datetime,
) -> str:
    """Store a new link for ``parent_ref``; return its token (the only time it exists)."""
    token = new_token()
    await conn.execute(
        "INSERT INTO public.consent_links (token_hash, swv, case_id, parent_ref, issued_by, "
        "issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        token_hash(token),
        swv,
        case_id,
        parent_ref,
        issued_by,
        now,
        expires_at,
    )
    return token


async def void_open(conn: asyncpg.Connection, case_id: UUID, now: datetime) -> None:
    """Void the case's unused links: a newer request or answer replaces them."""
    await conn.execute(
        "UPDATE public.consent_links SET voided_at = $2 "
        "WHERE case_id = $1 AND used_at IS NULL AND voided_at IS NULL",
        case_id,
        now,
    )


def _state(row: asyncpg.Record, now: datetime) -> LinkState:
    if row["used_at"] is not None:
        return LinkState.USED
    if row["voided_at"] is not None:
        return LinkState.VOIDED
    if row["expires_at"] <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN


async def find(conn: asyncpg.Connection, token: str, now: datetime) -> ConsentLink | None:
    """The link behind ``token`` and its state, or None when there is no such link."""
    row = await conn.fetchrow(
        "SELECT swv, case_id, parent_ref, expires_at, used_at, voided_at "
        "FROM public.consent_links WHERE token_hash = $1",
        token_hash(token),
    )
    if row is None:
        return None
    return ConsentLink(
        row["swv"], row["case_id"], row["parent_ref"], row["expires_at"], _state(row, now)
    )


async def use(conn: asyncpg.Connection, token: str, now: datetime) -> ConsentLink | None:
    """Mark the link used in the caller's transaction; None when unknown.

    Raises :class:`LinkNotUsable` when used, expired or voided. The row lock makes two
    concurrent uses of one link serialise: the second sees it used.
    """
    row = await conn.fetchrow(
        "SELECT swv, case_id, parent_ref, expires_at, used_at, voided_at "
        "FROM public.consent_links WHERE token_hash = $1 FOR UPDATE",
        token_hash(token),
    )
    if row is None:
        return None
    link = ConsentLink(
        row["swv"], row["case_id"], row["parent_ref"], row["expires_at"], _state(row, now)
    )
    if link.state is not LinkState.OPEN:
        raise LinkNotUsable(link)
    await conn.execute(
        "UPDATE public.consent_links SET used_at = $2 WHERE token_hash = $1", token_hash(token), now
    )
    return link
