"""The text keys: one AES-256 key per case (its scope) in each service, sealed at rest.

A key is made the first time a text of the case is sealed and deleted when the case's pupil
is erased; a deleted key is gone from the database, and what the WAL or a backup still
holds of its row is sealed under the key-encryption keys of ``TEXT_KEY_ENCRYPTION_KEYS``
(:mod:`passend_backbone.sealing`), which are never in the database. A restored backup
brings keys back: the erasure ledger deletes them again before the service serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passend_backbone.sealing import KeyRing, check_ring, ring_of

SETTING = "TEXT_KEY_ENCRYPTION_KEYS"

_KEY_OF_SCOPE = (
    "WITH made AS ("
    " INSERT INTO public.text_keys (swv, scope, key_id, key) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (swv, scope) DO NOTHING RETURNING key_id, key"
    "), kept AS ("
    " SELECT key_id, key FROM public.text_keys WHERE swv = $1 AND scope = $2 FOR SHARE"
    ") SELECT key_id, key FROM made UNION ALL SELECT key_id, key FROM kept"
)


@dataclass(frozen=True)
class TextKey:
    key_id: UUID
    scope: str
    key: bytes


def key_ring() -> KeyRing:
    """The key-encryption keys from the environment (read again when they change)."""
    return ring_of(SETTING)


def check_key_ring() -> None:
    """Stops the process at start, naming the variable, when the KEKs are missing or bad."""
    check_ring(SETTING)


def _context(swv: str, scope: str) -> str:
    # A sealed key opens only on its own row: copied onto another case it does not.
    return f"passend/text-key/{swv}/{scope}"


class TextKeys(Protocol):
    """Where a service keeps its text keys (PostgreSQL, or memory in fast tests)."""

    async def key_for(self, conn: Any, swv: str, scope: str) -> TextKey:
        """The scope's key, made on first use (inside the caller's transaction)."""
        ...

    async def keys_by_id(self, conn: Any, swv: str, key_ids: Iterable[UUID]) -> dict[UUID, TextKey]:
        """The keys that still exist among ``key_ids`` (an erased one is absent)."""
        ...

    async def erase(self, conn: Any, swv: str, scopes: Iterable[str]) -> int:
        """Deletes the keys of ``scopes``; returns how many there were."""
        ...


class PostgresTextKeys:
    """``public.text_keys`` (backbone migration ``008_text_keys.sql``) in the service's database."""

    async def key_for(self, conn: Any, swv: str, scope: str) -> TextKey:
        ring = key_ring()
        for _ in range(3):
            # Like intake's pupil keys: a concurrent first use agrees on one key; a key erased
            # meanwhile is made anew (the texts sealed now belong to the new one).
            sealed = ring.seal(AESGCM.generate_key(bit_length=256), _context(swv, scope))
            row = await conn.fetchrow(_KEY_OF_SCOPE, swv, scope, uuid4(), sealed)
            if row is not None:
                opened = ring.open(bytes(row["key"]), _context(swv, scope))
                return TextKey(row["key_id"], scope, opened)
        raise RuntimeError(f"the text key of {scope} kept being erased while it was made")

    async def keys_by_id(self, conn: Any, swv: str, key_ids: Iterable[UUID]) -> dict[UUID, TextKey]:
        ring = key_ring()
        rows = await conn.fetch(
            "SELECT key_id, scope, key FROM public.text_keys WHERE swv = $1 AND key_id = ANY($2)",
            swv,
            list(set(key_ids)),
        )
        return {
            r["key_id"]: TextKey(
                r["key_id"], r["scope"], ring.open(bytes(r["key"]), _context(swv, r["scope"]))
            )
            for r in rows
        }

    async def erase(self, conn: Any, swv: str, scopes: Iterable[str]) -> int:
        deleted = await conn.fetch(
            "DELETE FROM public.text_keys WHERE swv = $1 AND scope = ANY($2) RETURNING key_id",
            swv,
            list(set(scopes)),
        )
        return len(deleted)


class MemoryTextKeys:
    """The same in memory, for in-memory stores: real keys and real sealing, no database."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], TextKey] = {}

    async def key_for(self, conn: Any, swv: str, scope: str) -> TextKey:
        key = self.keys.get((swv, scope))
        if key is None:
            key = self.keys[(swv, scope)] = TextKey(
                uuid4(), scope, AESGCM.generate_key(bit_length=256)
            )
        return key

    async def keys_by_id(self, conn: Any, swv: str, key_ids: Iterable[UUID]) -> dict[UUID, TextKey]:
        wanted = set(key_ids)
        return {
            k.key_id: k
            for (tenant, _), k in self.keys.items()
            if tenant == swv and k.key_id in wanted
        }

    async def erase(self, conn: Any, swv: str, scopes: Iterable[str]) -> int:
        gone = [s for s in set(scopes) if self.keys.pop((swv, s), None) is not None]
        return len(gone)


def scope_of(stream_id: str, data: Mapping[str, Any]) -> str:
    """The case a text belongs to: its event's ``case_id``, else the stream's id."""
    case_id = data.get("case_id")
    return str(case_id) if case_id else stream_id
