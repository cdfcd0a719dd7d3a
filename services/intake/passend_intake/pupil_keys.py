"""Per-pupil AES-GCM keys, and encrypting the pupil's identity with them (crypto-shredding).

The row of a pupil's key is also the only place that knows the school's own reference of
the pupil (``school_ref``, with the school it belongs to: two schools may number their
pupils alike): everything else, intake's events and read models and every other service,
names the pupil by the pseudonym intake gave it (``pupil_ref``, see
:func:`pupil_of_school`). Erasure deletes the row, and with it the last link between the
cases and the school's records.

A pupil's key is stored *sealed* under the key-encryption keys of
``INTAKE_KEY_ENCRYPTION_KEYS`` (:mod:`passend_backbone.sealing`), never in the clear: a
database dump, a backup or the WAL holds no key that opens anything without them, and a
deleted key row cannot be brought back to life from the KEK alone.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
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


_PUPIL_OF_SCHOOL_REF = (
    "WITH made AS ("
    " INSERT INTO public.pupil_keys (swv, pupil_ref, school_id, school_ref, key_id, key)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING pupil_ref, key_id, key"
    "), kept AS ("
    " SELECT pupil_ref, key_id, key FROM public.pupil_keys"
    " WHERE swv = $1 AND school_id = $3 AND school_ref = $4 FOR SHARE"
    ") SELECT pupil_ref, key_id, key FROM made UNION ALL SELECT pupil_ref, key_id, key FROM kept"
)

# Intake's pseudonyms: ``lln-`` and 48 random bits, never derived from the school's
# reference, so nothing but the key's row links the two.
PSEUDONYM_PREFIX = "lln-"


def new_pseudonym() -> str:
    return PSEUDONYM_PREFIX + secrets.token_hex(6)


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


@dataclass(frozen=True)
class Pupil:
    """A pupil as intake names it (the pseudonym) and the key its data is sealed with."""

    pupil_ref: str
    key: PupilKey


async def pupil_of_school(
    conn: asyncpg.Connection, swv: str, school_id: str, school_ref: str
) -> Pupil:
    """The pupil school ``school_id`` calls ``school_ref``: its pseudonym and key, both made
    on first use; concurrent first uses agree on one. Another school's pupil with the same
    reference is another pupil.

    The row is held ``FOR SHARE`` until the caller's transaction ends, so an erasure (which
    deletes it) waits for a submission that seals with it, and then sees that submission.
    After an erasure the same school reference gets a new pseudonym and key: nothing links
    the new pupil to the erased one. (A key another transaction made but had not committed
    when the statement began is waited for, then not seen by its snapshot: the loop asks
    again.)
    """
    for _ in range(3):
        pseudonym = new_pseudonym()
        sealed = key_ring().seal(_new_key(), _context(swv, pseudonym))
        row = await conn.fetchrow(
            _PUPIL_OF_SCHOOL_REF, swv, pseudonym, school_id, school_ref, uuid4(), sealed
        )
        if row is not None:
            ref = row["pupil_ref"]
            return Pupil(ref, PupilKey(row["key_id"], _opened(bytes(row["key"]), swv, ref)))
    raise RuntimeError("the pupil's key kept being erased (or its pseudonym taken) while made")


@dataclass(frozen=True)
class NamedPupil:
    """A pupil a reference names: intake's pseudonym, the school and its own reference."""

    pupil_ref: str
    school_id: str
    school_ref: str


class AmbiguousReference(Exception):
    """A school reference that pupils of more than one school have; name one by pseudonym."""

    def __init__(self, ref: str, pupils: list[NamedPupil]) -> None:
        named = ", ".join(f"{p.pupil_ref} ({p.school_id})" for p in pupils)
        super().__init__(
            f"the reference {ref} names pupils of {len(pupils)} schools: {named}; "
            "name the pupil by intake's pseudonym"
        )
        self.ref = ref
        self.pupils = pupils


async def pupils_named(conn: asyncpg.Connection, swv: str, ref: str) -> list[NamedPupil]:
    """The pupils (not erased) ``ref`` names in the SWV: the one whose pseudonym it is, or
    every school's pupil with that school reference (one per school), by school."""
    rows = await conn.fetch(
        "SELECT pupil_ref, school_id, school_ref FROM public.pupil_keys"
        " WHERE swv = $1 AND (pupil_ref = $2 OR school_ref = $2) ORDER BY school_id, pupil_ref",
        swv,
        ref,
    )
    exact = [r for r in rows if r["pupil_ref"] == ref]
    return [NamedPupil(r["pupil_ref"], r["school_id"], r["school_ref"]) for r in exact or rows]


async def pseudonym_of(conn: asyncpg.Connection, swv: str, ref: str) -> str:
    """The pseudonym of the pupil a caller names by ``ref``: the school's reference of a
    pupil intake knows, else ``ref`` itself (a pseudonym, or a pupil erased or unknown).

    Raises :class:`AmbiguousReference` when pupils of several schools have the reference."""
    named = await pupils_named(conn, swv, ref)
    if len(named) > 1:
        raise AmbiguousReference(ref, named)
    return named[0].pupil_ref if named else ref


async def school_ref_of(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> str | None:
    """The school's own reference of the pupil; None once erased."""
    found: str | None = await conn.fetchval(
        "SELECT school_ref FROM public.pupil_keys WHERE swv = $1 AND pupil_ref = $2",
        swv,
        pupil_ref,
    )
    return found


async def existing_key(conn: asyncpg.Connection, swv: str, pupil_ref: str) -> PupilKey | None:
    """The pupil's key if it exists (None once erased); never makes one.

    Held ``FOR SHARE`` until the caller's transaction ends, like :func:`pupil_of_school`:
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
