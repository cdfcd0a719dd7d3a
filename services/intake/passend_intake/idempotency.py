"""Idempotency keys: the first answer to a POST is kept and returned to every retry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


class IdempotencyKeyReused(Exception):
    """The key was used before for a different request body."""


def fingerprint(body: Any) -> str:
    """A stable hash of a request body (its JSON form, keys sorted)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def claim(
    conn: asyncpg.Connection, swv: str, subject: str, key: str, print_: str
) -> StoredAnswer | None:
    """Claim ``key`` in the caller's open transaction; the stored answer if it was used.

    A concurrent request with the same key waits on the row lock of the unique index until
    the first transaction ends: it then sees the first answer, or takes the key over if
    the first one rolled back. So two retries racing each other still act once.
    """
    inserted = await conn.fetchval(
        "INSERT INTO public.idempotency_keys (swv, subject, idempotency_key, fingerprint) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        swv,
        subject,
        key,
        print_,
    )
    if inserted:
        return None
    row = await conn.fetchrow(
        "SELECT fingerprint, status_code, response FROM public.idempotency_keys "
        "WHERE swv = $1 AND subject = $2 AND idempotency_key = $3",
        swv,
        subject,
        key,
    )
    assert row is not None
    assert row["status_code"] is not None
    if row["fingerprint"] != print_:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used before for a different request: use a new key "
            "for a new request"
        )
    body = row["response"]
    return StoredAnswer(row["status_code"], json.loads(body) if isinstance(body, str) else body)


async def remember(
    conn: asyncpg.Connection, swv: str, subject: str, key: str, answer: StoredAnswer
) -> None:
    """Store the answer with the claimed key, in the same transaction as the events."""
    await conn.execute(
        "UPDATE public.idempotency_keys SET status_code = $4, response = $5::text::jsonb "
        "WHERE swv = $1 AND subject = $2 AND idempotency_key = $3",
        swv,
        subject,
        key,
        answer.status_code,
        json.dumps(answer.body, default=str),
    )
