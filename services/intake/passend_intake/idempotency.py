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
    conn: asyncpg.Connection,
    swv: str,
    subject: str,
    key: str,
    print_: str,
    answer: StoredAnswer,
) -> StoredAnswer | None:
    """Claim ``key`` with its ``answer`` in the caller's open transaction; None when this
    call got it, else the stored answer of the first use.

    The answer goes in with the claim (one statement): no other transaction sees the row
    before this one commits, and it commits together with the events the answer reports,
    or not at all. A concurrent request with the same key waits on the row lock of the
    unique index until the first transaction ends: it then sees the first answer, or
    takes the key over if the first one rolled back. So two retries racing each other
    still act once.
    """
    inserted = await conn.fetchval(
        "INSERT INTO public.idempotency_keys "
        "(swv, subject, idempotency_key, fingerprint, status_code, response) "
        "VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) ON CONFLICT DO NOTHING RETURNING true",
        swv,
        subject,
        key,
        print_,
        answer.status_code,
        json.dumps(answer.body, default=str),
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
