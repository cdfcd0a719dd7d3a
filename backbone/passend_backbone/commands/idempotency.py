"""Idempotency keys: the first answer to a command is kept and given to every retry.

One table (``public.idempotency_keys``, the backbone's migration ``006_idempotency.sql``)
and one design for every service. A key is scoped to the caller (SWV and subject) and
bound to what was asked: the operation and its body, as a fingerprint. Within the
command's transaction the key is first *claimed*; the answer is *remembered* in the same
transaction, together with the events it reports. So:

- the same key and body after a lost answer get the stored answer, and nothing is
  decided again;
- the same key with another body (or for another operation) is refused (422);
- two requests racing with one key act once: in PostgreSQL the second waits on the
  first's row lock until that transaction ends, then sees its answer (or takes the key
  over when the first rolled back).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import asyncpg
from fastapi import Header

from passend_backbone.commands.refusal import Refusal
from passend_backbone.commands.transactions import MemoryTx

HEADER = "Idempotency-Key"
# Keys are the caller's; a UUID is usual. Longer ones are refused by the header check.
MAX_KEY_LENGTH = 200

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        max_length=MAX_KEY_LENGTH,
        description=(
            "Any unique string (a UUID, say) for this request. Retrying with the same key "
            "and body answers as the first time did, without acting twice; the same key "
            "with another body is refused (422)."
        ),
    ),
]


@dataclass(frozen=True)
class StoredAnswer:
    """The answer a command gave: status code and JSON body."""

    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyKey:
    """A caller's key for one request, with a fingerprint of what was asked."""

    swv: str
    subject: str
    key: str
    fingerprint: str

    @classmethod
    def of(
        cls, swv: str, subject: str, key: str | None, operation: str, body: Any = None
    ) -> IdempotencyKey | None:
        """The key of a request, or None when the caller sent none."""
        if not key:
            return None
        return cls(swv, subject, key, fingerprint([operation, body]))


def fingerprint(asked: Any) -> str:
    """A stable hash of what was asked (its JSON form, keys sorted)."""
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key_reused() -> Refusal:
    return Refusal.invalid(
        "idempotency",
        "this Idempotency-Key was used before for a different request: use a new key for "
        "a new request",
        field=HEADER,
    )


class IdempotencyStore(Protocol):
    """Claims keys and remembers answers inside a command's transaction."""

    async def claim(self, tx: Any, key: IdempotencyKey) -> StoredAnswer | None:
        """Claim ``key``; None when this call got it, else the first use's answer.

        Raises :func:`key_reused`'s refusal when the key was used for something else.
        """
        ...

    async def remember(self, tx: Any, key: IdempotencyKey, answer: StoredAnswer) -> None:
        """Store the answer with the claimed key, in the same transaction."""
        ...


class PostgresIdempotency:
    """Keys in ``public.idempotency_keys`` (row-level security: the tenant's rows only)."""

    async def claim(self, tx: asyncpg.Connection, key: IdempotencyKey) -> StoredAnswer | None:
        inserted = await tx.fetchval(
            "INSERT INTO public.idempotency_keys (swv, subject, idempotency_key, fingerprint) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            key.swv,
            key.subject,
            key.key,
            key.fingerprint,
        )
        if inserted:
            return None
        row = await tx.fetchrow(
            "SELECT fingerprint, status_code, response FROM public.idempotency_keys "
            "WHERE swv = $1 AND subject = $2 AND idempotency_key = $3",
            key.swv,
            key.subject,
            key.key,
        )
        assert row is not None  # the conflicting row is there: it blocked the insert
        if row["fingerprint"] != key.fingerprint:
            raise key_reused()
        body = row["response"]
        if isinstance(body, str):  # a connection without the pool's json codec
            body = json.loads(body)
        return StoredAnswer(row["status_code"], body)

    async def remember(
        self, tx: asyncpg.Connection, key: IdempotencyKey, answer: StoredAnswer
    ) -> None:
        await tx.execute(
            "UPDATE public.idempotency_keys SET status_code = $4, response = $5::text::jsonb "
            "WHERE swv = $1 AND subject = $2 AND idempotency_key = $3",
            key.swv,
            key.subject,
            key.key,
            answer.status_code,
            json.dumps(answer.body, default=str),
        )


@dataclass
class _Claim:
    fingerprint: str
    answer: StoredAnswer | None
    settled: asyncio.Event


class MemoryIdempotency:
    """The in-memory twin: a claim by an open transaction makes a second claimer wait."""

    def __init__(self) -> None:
        self._claims: dict[tuple[str, str, str], _Claim] = {}

    async def claim(self, tx: MemoryTx, key: IdempotencyKey) -> StoredAnswer | None:
        ident = (key.swv, key.subject, key.key)
        while True:
            found = self._claims.get(ident)
            if found is None:
                break
            if not found.settled.is_set():
                await found.settled.wait()  # the first transaction is still open
                continue
            if found.fingerprint != key.fingerprint:
                raise key_reused()
            assert found.answer is not None
            return found.answer
        claim = _Claim(key.fingerprint, None, asyncio.Event())
        self._claims[ident] = claim

        def undo() -> None:
            if self._claims.get(ident) is claim:
                del self._claims[ident]
            claim.settled.set()

        tx.on_rollback(undo)
        tx.after_commit.append(claim.settled.set)
        return None

    async def remember(self, tx: MemoryTx, key: IdempotencyKey, answer: StoredAnswer) -> None:
        self._claims[(key.swv, key.subject, key.key)].answer = answer
