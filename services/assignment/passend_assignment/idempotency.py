"""Idempotency keys: the first answer to a POST is kept and returned to every retry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class IdempotencyKey:
    """A caller's key for one request, with a fingerprint of what was asked."""

    swv: str
    subject: str
    key: str
    fingerprint: str


class KeyReused(Exception):
    """The key was used before for a different request."""


def key_for(swv: str, subject: str, key: str | None, request: Any) -> IdempotencyKey | None:
    if not key:
        return None
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return IdempotencyKey(swv, subject, key, hashlib.sha256(text.encode()).hexdigest())


async def claim_key(conn: asyncpg.Connection, key: IdempotencyKey) -> dict[str, Any] | None:
    """Claim ``key`` in the open transaction; the first answer if it was used already.

    A concurrent request with the same key waits on the unique index until the first
    transaction ends, then sees its answer (or takes the key over after a rollback).
    """
    inserted = await conn.fetchval(
        "INSERT INTO public.idempotency_keys (swv, subject, idempotency_key, fingerprint) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        key.swv,
        key.subject,
        key.key,
        key.fingerprint,
    )
    if inserted:
        return None
    row = await conn.fetchrow(
        "SELECT fingerprint, response FROM public.idempotency_keys "
        "WHERE swv = $1 AND subject = $2 AND idempotency_key = $3",
        key.swv,
        key.subject,
        key.key,
    )
    assert row is not None
    if row["fingerprint"] != key.fingerprint:
        raise KeyReused(
            "this Idempotency-Key was used before for a different request: use a new key"
        )
    answer: dict[str, Any] = row["response"]
    return answer


async def remember(conn: asyncpg.Connection, key: IdempotencyKey, answer: dict[str, Any]) -> None:
    """Store the answer with the claimed key, in the same transaction as the events."""
    await conn.execute(
        "UPDATE public.idempotency_keys SET status_code = 200, response = $4 "
        "WHERE swv = $1 AND subject = $2 AND idempotency_key = $3",
        key.swv,
        key.subject,
        key.key,
        answer,
    )
