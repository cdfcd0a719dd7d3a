"""Per-pupil AES-GCM keys, and encrypting the pupil's identity with them (crypto-shredding).

A pupil's key is stored *sealed* under the key-encryption keys of
``INTAKE_KEY_ENCRYPTION_KEYS`` (:mod:`passend_backbone.sealing`), never in the clear: a
database dump, a backup or the WAL holds no key that opens anything without them, and a
deleted key row cannot be brought back to life from the KEK alone.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passend_backbone.sealing import KeyRing, NotOpened, check_ring, ring_of
from passend_contracts.events.intake import EncryptedIdentity
from passend_intake.domain.identity import PupilIdentity, age_on

_NONCE_BYTES = 12
SEALING_SETTING = "INTAKE_KEY_ENCRYPTION_KEYS"


_KEY_OF_PUPIL = (
    "WITH made AS ("
    " INSERT INTO public.pupil_keys (swv, pupil_ref, key_id, key) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (swv, pupil_ref) DO NOTHING RETURNING key_id, key"
    "), kept AS ("
    " SELECT key_id, key FROM public.pupil_keys WHERE swv = $1 AND pupil_ref = $2 FOR SHARE"
    ") SELECT key_id, key FROM made UNION ALL SELECT key_id, key FROM kept"
)


def _new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_ring() -> KeyRing:
    """The key-encryption keys from the environment (read again when they change)."""
    return ring_of(SEALING_SETTING)


def check_key_ring() -> None:
    """Stops the process at start, naming the variable, when the KEKs are missing or bad."""
    check_ring(SEALING_SETTING)


def _context(swv: str, pupil_ref: str) -> str:
    # A sealed key opens only on its own row: copied onto another pupil it does not.
    return f"passend-intake/pupil-key/{swv}/{pupil_ref}"


def _opened(sealed: bytes, swv: str, pupil_ref: str) -> bytes:
    try:
        return key_ring().open(sealed, _context(swv, pupil_ref))
    except NotOpened as exc:
        raise IdentityUnreadable(f"the key of pupil {pupil_ref} does not open: {exc}") from exc


@dataclass(frozen=True)
class PupilKey:
    key_id: UUID
    key: bytes


class IdentityUnreadable(Exception):
    """The ciphertext does not open with this key (tampered, or the wrong pupil)."""


async def get_or_create_key(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> PupilKey:
    """The pupil's key, made on first use; concurrent first uses agree on one key.

    The row is held ``FOR SHARE`` until the caller's transaction ends, so an erasure
    (which deletes it) waits for a submission that encrypts with it, and then sees that
    submission; a key erased in between is made anew.
    """
    for _ in range(3):
        # One statement: the new key if this inserted it, else the stored one (locked).
        # A key another transaction made but had not committed when this statement began
        # is waited for, then not seen by this statement's snapshot: the loop asks again.
        sealed = key_ring().seal(_new_key(), _context(swv, pupil_ref))
        row = await conn.fetchrow(_KEY_OF_PUPIL, swv, pupil_ref, uuid4(), sealed)
        if row is not None:
            return PupilKey(row["key_id"], _opened(bytes(row["key"]), swv, pupil_ref))
    raise RuntimeError(f"the key of pupil {pupil_ref} kept being erased while it was made")


async def existing_key(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> PupilKey | None:
    """The pupil's key if it exists (None once erased); never makes one.

    Held ``FOR SHARE`` until the caller's transaction ends, like :func:`get_or_create_key`:
    an erasure waits for what is being sealed with it, then erases that too.
    """
    row = await conn.fetchrow(
        "SELECT key_id, key FROM public.pupil_keys WHERE swv = $1 AND pupil_ref = $2 FOR SHARE",
        swv,
        pupil_ref,
    )
    if row is None:
        return None
    return PupilKey(row["key_id"], _opened(bytes(row["key"]), swv, pupil_ref))


async def key_by_id(conn: asyncpg.Connection, key_id: str) -> PupilKey | None:
    """The key that encrypted an identity, or None once the pupil was erased."""
    try:
        parsed = UUID(key_id)
    except ValueError:
        return None
    row = await conn.fetchrow(
        "SELECT key_id, key, swv, pupil_ref FROM public.pupil_keys WHERE key_id = $1", parsed
    )
    if row is None:
        return None
    return PupilKey(row["key_id"], _opened(bytes(row["key"]), row["swv"], row["pupil_ref"]))


@dataclass(frozen=True)
class StoredKey:
    """A pupil's key as read, still sealed: opened when used, so a key that does not open
    fails its own identity and not the others read with it."""

    key_id: UUID
    sealed: bytes
    swv: str
    pupil_ref: str

    def opened(self) -> PupilKey:
        """The key itself, or :class:`IdentityUnreadable` when it does not open."""
        return PupilKey(self.key_id, _opened(self.sealed, self.swv, self.pupil_ref))


async def keys_by_ids(conn: asyncpg.Connection, key_ids: Iterable[str]) -> dict[str, StoredKey]:
    """The keys of many identities in one query, by key id as the identity names it; an
    erased pupil's key (or an id that is no key id) is not in the answer."""
    wanted: dict[UUID, set[str]] = {}
    for key_id in key_ids:
        try:
            wanted.setdefault(UUID(key_id), set()).add(key_id)
        except (TypeError, ValueError):
            continue
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT key_id, key, swv, pupil_ref FROM public.pupil_keys WHERE key_id = ANY($1::uuid[])",
        list(wanted),
    )
    found: dict[str, StoredKey] = {}
    for row in rows:
        stored = StoredKey(row["key_id"], bytes(row["key"]), row["swv"], row["pupil_ref"])
        found.update(dict.fromkeys(wanted[row["key_id"]], stored))
    return found


async def reseal_keys(pool: asyncpg.Pool, *, batch: int = 500) -> int:
    """Seal every key sealed with an earlier key-encryption key with the current one.

    After a KEK rotation (the new KEK first in ``INTAKE_KEY_ENCRYPTION_KEYS``, the old one
    still listed): once this returns, the old KEK can be removed. Returns how many keys were
    resealed; running it again reseals none.
    """
    ring = key_ring()
    resealed = 0
    after: UUID | None = None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT key_id, key, swv, pupil_ref FROM public.pupil_keys "
                "WHERE $1::uuid IS NULL OR key_id > $1 ORDER BY key_id LIMIT $2 FOR UPDATE",
                after,
                batch,
            )
            if not rows:
                return resealed
            for row in rows:
                sealed = bytes(row["key"])
                if ring.needs_reseal(sealed):
                    context = _context(row["swv"], row["pupil_ref"])
                    fresh = ring.seal(ring.open(sealed, context), context)
                    await conn.execute(
                        "UPDATE public.pupil_keys SET key = $2 WHERE key_id = $1",
                        row["key_id"],
                        fresh,
                    )
                    resealed += 1
            after = rows[-1]["key_id"]


def _aad(swv: str, pupil_ref: str) -> bytes:
    # Binds the ciphertext to its tenant and pupil: it can't be moved to another record.
    return f"passend-intake|{swv}|{pupil_ref}".encode()


def encrypt(identity: PupilIdentity, key: PupilKey, swv: str, pupil_ref: str) -> EncryptedIdentity:
    """The identity sealed with the pupil's key; a fresh random nonce every time."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps(identity.model_dump(mode="json"), sort_keys=True).encode()
    sealed = AESGCM(key.key).encrypt(nonce, plain, _aad(swv, pupil_ref))
    return EncryptedIdentity(
        ciphertext=base64.b64encode(sealed).decode(),
        nonce=base64.b64encode(nonce).decode(),
        key_id=str(key.key_id),
    )


def decrypt(sealed: EncryptedIdentity, key: PupilKey, swv: str, pupil_ref: str) -> PupilIdentity:
    """The identity, or :class:`IdentityUnreadable` when it does not open."""
    try:
        plain = AESGCM(key.key).decrypt(
            base64.b64decode(sealed.nonce),
            base64.b64decode(sealed.ciphertext),
            _aad(swv, pupil_ref),
        )
    except (InvalidTag, ValueError) as exc:
        raise IdentityUnreadable(f"identity under key {sealed.key_id} does not open") from exc
    return PupilIdentity.model_validate_json(plain)


async def open_identity(
    conn: asyncpg.Connection, sealed: EncryptedIdentity | None, swv: str, pupil_ref: str
) -> PupilIdentity | None:
    """The identity if its key still exists; None after erasure (or when never given)."""
    if sealed is None:
        return None
    key = await key_by_id(conn, sealed.key_id)
    if key is None:
        return None
    return decrypt(sealed, key, swv, pupil_ref)


async def pupil_age(
    conn: asyncpg.Connection,
    sealed: EncryptedIdentity | None,
    swv: str,
    pupil_ref: str,
    today: date,
) -> int | None:
    """The pupil's age from the sealed date of birth; None once the pupil was erased."""
    identity = await open_identity(conn, sealed, swv, pupil_ref)
    return age_on(identity.date_of_birth, today) if identity else None
