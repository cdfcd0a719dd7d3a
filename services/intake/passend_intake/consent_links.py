"""Personal consent links: one parent's link of one case, valid once and until it expires.

A link is for answering the school's consent request (purpose ``consent``) or for
withdrawing the consent given (purpose ``withdrawal``, W10). Its token is derived from the
pupil's key (:mod:`passend_intake.link_tokens`); only the token's SHA-256 is stored here,
with the event that made the link (``cause_id``), so intake can derive the token again for
the e-mail, a resent copy or the IB's screen, and nobody reading the database can.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from passend_intake.link_tokens import Purpose


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
    purpose: Purpose
    cause_id: UUID | None


class LinkNotUsable(Exception):
    """The link exists but can't be used (any more); ``state`` says why."""

    def __init__(self, link: ConsentLink) -> None:
        reasons = {
            LinkState.USED: "this link was used already; a link works once",
            LinkState.EXPIRED: f"this link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC",
            LinkState.VOIDED: "this link was replaced, or what it answers was decided otherwise",
        }
        super().__init__(reasons.get(link.state, "this link can't be used"))
        self.link = link


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def subject_of(token: str) -> str:
    """Who answers through the link, for scoping an Idempotency-Key: the link itself
    (by its hash; the token never leaves the request)."""
    return f"consent-link:{token_hash(token).hex()}"


async def issue(
    conn: asyncpg.Connection,
    token: str,
    link: ConsentLink,
    issued_by: str,
    now: datetime,
) -> None:
    """Store ``link`` under the hash of its (derived) token; once per cause and parent."""
    await conn.execute(
        "INSERT INTO public.consent_links (token_hash, swv, case_id, parent_ref, issued_by, "
        "issued_at, expires_at, purpose, cause_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT DO NOTHING",
        token_hash(token),
        link.swv,
        link.case_id,
        link.parent_ref,
        issued_by,
        now,
        link.expires_at,
        link.purpose.value,
        link.cause_id,
    )


async def void_open(conn: asyncpg.Connection, case_id: UUID, now: datetime) -> None:
    """Void the case's unused links: a newer request or answer replaces them."""
    await conn.execute(
        "UPDATE public.consent_links SET voided_at = $2 "
        "WHERE case_id = $1 AND used_at IS NULL AND voided_at IS NULL",
        case_id,
        now,
    )


async def void_cases(conn: asyncpg.Connection, case_ids: list[UUID], now: datetime) -> None:
    """Void every unused link of these cases (the pupil was erased)."""
    await conn.execute(
        "UPDATE public.consent_links SET voided_at = $2 "
        "WHERE case_id = ANY($1::uuid[]) AND used_at IS NULL AND voided_at IS NULL",
        case_ids,
        now,
    )


_COLUMNS = "swv, case_id, parent_ref, expires_at, used_at, voided_at, purpose, cause_id"


def _state(row: asyncpg.Record, now: datetime) -> LinkState:
    if row["used_at"] is not None:
        return LinkState.USED
    if row["voided_at"] is not None:
        return LinkState.VOIDED
    if row["expires_at"] <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN


def _link(row: asyncpg.Record, now: datetime) -> ConsentLink:
    return ConsentLink(
        row["swv"],
        row["case_id"],
        row["parent_ref"],
        row["expires_at"],
        _state(row, now),
        Purpose(row["purpose"]),
        row["cause_id"],
    )


async def find(conn: asyncpg.Connection, token: str, now: datetime) -> ConsentLink | None:
    """The link behind ``token`` and its state, or None when there is no such link."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM public.consent_links WHERE token_hash = $1", token_hash(token)
    )
    return _link(row, now) if row is not None else None


async def of_cause(
    conn: asyncpg.Connection, case_id: UUID, parent_ref: str, cause_id: UUID, now: datetime
) -> ConsentLink | None:
    """The link event ``cause_id`` made for ``parent_ref`` of the case, if it made one."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM public.consent_links "
        "WHERE case_id = $1 AND parent_ref = $2 AND cause_id = $3",
        case_id,
        parent_ref,
        cause_id,
    )
    return _link(row, now) if row is not None else None


async def open_links(
    conn: asyncpg.Connection, case_id: UUID, purpose: Purpose, now: datetime
) -> list[ConsentLink]:
    """The case's links of ``purpose`` that can still be used, by parent."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM public.consent_links WHERE case_id = $1 AND purpose = $2 "
        "AND used_at IS NULL AND voided_at IS NULL AND expires_at > $3 "
        "AND cause_id IS NOT NULL ORDER BY parent_ref",
        case_id,
        purpose.value,
        now,
    )
    return [_link(row, now) for row in rows]


async def use(conn: asyncpg.Connection, token: str, now: datetime) -> ConsentLink | None:
    """Mark the link used in the caller's transaction; None when unknown.

    Raises :class:`LinkNotUsable` when used, expired or voided. The row lock makes two
    concurrent uses of one link serialise: the second sees it used.
    """
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM public.consent_links WHERE token_hash = $1 FOR UPDATE",
        token_hash(token),
    )
    if row is None:
        return None
    link = _link(row, now)
    if link.state is not LinkState.OPEN:
        raise LinkNotUsable(link)
    await conn.execute(
        "UPDATE public.consent_links SET used_at = $2 WHERE token_hash = $1", token_hash(token), now
    )
    return link
