"""Per-pupil AES-GCM keys, and encrypting the pupil's identity with them (crypto-shredding)."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passend_contracts.events.intake import EncryptedIdentity
from passend_intake.domain.identity import PupilIdentity, age_on

_NONCE_BYTES = 12


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
        row = await conn.fetchrow(_KEY_OF_PUPIL, swv, pupil_ref, uuid4(), _new_key())
        if row is not None:
            return PupilKey(row["key_id"], bytes(row["key"]))
    raise RuntimeError(f"the key of pupil {pupil_ref} kept being erased while it was made")


async def key_by_id(conn: asyncpg.Connection, key_id: str) -> PupilKey | None:
    """The key that encrypted an identity, or None once the pupil was erased."""
    try:
        parsed = UUID(key_id)
    except ValueError:
        return None
    row = await conn.fetchrow("SELECT key_id, key FROM public.pupil_keys WHERE key_id = $1", parsed)
    return PupilKey(row["key_id"], bytes(row["key"])) if row else None


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
