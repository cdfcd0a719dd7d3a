"""Sealing keys and secrets at rest under key-encryption keys that are never in the database.

A service that keeps a key (a pupil's key, a webhook secret) keeps it *sealed*: AES-256-GCM
under a key-encryption key (KEK) from the environment or a secret store, bound to what it
belongs to (the associated data, e.g. ``<swv>/<pupil_ref>``). A dump, a backup or a copy of
the WAL then holds nothing that opens anything without the KEK.

KEKs rotate: a :class:`KeyRing` holds the current KEK (which seals) and earlier ones (which
still open what they sealed), each with an id stored in the sealed value, so a value sealed
before a rotation opens after it, and :meth:`KeyRing.needs_reseal` finds what to reseal.
Production may put a KMS behind the same :class:`Sealer` protocol (wrapping calls to it);
the ring from the environment is what the dev stack and tests use.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = b"\x02"  # format byte, id length, KEK id, nonce, box
NONCE_BYTES = 12
KEY_BYTES = 32
_KEK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SealingKeyMissing(ValueError):
    """No usable key-encryption key is configured; the message names the setting."""


class NotOpened(Exception):
    """A sealed value does not open: another KEK, another owner, or changed bytes."""


class Sealer(Protocol):
    """What a key-encryption service offers: the environment's ring, or a KMS client."""

    @property
    def current_id(self) -> str: ...

    def seal(self, plain: bytes, context: str) -> bytes: ...

    def open(self, sealed: bytes, context: str) -> bytes: ...

    def needs_reseal(self, sealed: bytes) -> bool: ...


def _key_bytes(text: str, setting: str) -> bytes:
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise SealingKeyMissing(
            f"{setting}: a key must be base64 (make one with: openssl rand -base64 32)"
        ) from None
    if len(key) != KEY_BYTES:
        raise SealingKeyMissing(
            f"{setting}: a key must be {KEY_BYTES} bytes, base64-encoded; one is {len(key)}"
        )
    return key


class KeyRing:
    """Key-encryption keys by id; the first seals, every one opens what it sealed."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise SealingKeyMissing("a key ring needs at least one key-encryption key")
        self._current = keys[0][0]
        self._aeads: dict[str, AESGCM] = {}
        for kek_id, key in keys:
            if not _KEK_ID.match(kek_id):
                raise SealingKeyMissing(f"key-encryption key id {kek_id!r}: use [A-Za-z0-9._-]")
            if kek_id in self._aeads:
                raise SealingKeyMissing(f"key-encryption key id {kek_id!r} is given twice")
            self._aeads[kek_id] = AESGCM(key)

    @classmethod
    def parse(cls, text: str | None, *, setting: str) -> KeyRing:
        """``id:base64[,id:base64 ...]``, newest first (a lone ``base64`` is id ``1``)."""
        if not text or not text.strip():
            raise SealingKeyMissing(
                f"{setting} is not set: give the key-encryption key(s) as "
                f"'<id>:<base64 of 32 bytes>' (newest first, comma-separated)"
            )
        keys: list[tuple[str, bytes]] = []
        for part in text.split(","):
            kek_id, sep, value = part.strip().partition(":")
            if not sep:
                kek_id, value = "1", part
            keys.append((kek_id.strip(), _key_bytes(value, setting)))
        return cls(keys)

    @property
    def current_id(self) -> str:
        """The id of the KEK that seals."""
        return self._current

    def seal(self, plain: bytes, context: str) -> bytes:
        """``plain`` sealed with the current KEK for ``context``; a fresh nonce each time."""
        nonce = os.urandom(NONCE_BYTES)
        kek_id = self._current.encode()
        box = self._aeads[self._current].encrypt(nonce, plain, context.encode())
        return FORMAT + bytes([len(kek_id)]) + kek_id + nonce + box

    def sealed_with(self, sealed: bytes) -> str:
        """The id of the KEK ``sealed`` was sealed with."""
        if sealed[:1] != FORMAT or len(sealed) < 2:
            raise NotOpened("not a sealed value of a known format")
        return sealed[2 : 2 + sealed[1]].decode()

    def open(self, sealed: bytes, context: str) -> bytes:
        """The plain bytes; :class:`NotOpened` for an unknown KEK, context or changed bytes."""
        kek_id = self.sealed_with(sealed)
        aead = self._aeads.get(kek_id)
        if aead is None:
            raise NotOpened(f"sealed with key-encryption key {kek_id!r}, which is not configured")
        start = 2 + sealed[1]
        nonce, box = sealed[start : start + NONCE_BYTES], sealed[start + NONCE_BYTES :]
        try:
            return aead.decrypt(nonce, box, context.encode())
        except InvalidTag:
            raise NotOpened(
                f"does not open with key-encryption key {kek_id!r} for {context!r}"
            ) from None

    def needs_reseal(self, sealed: bytes) -> bool:
        """Whether ``sealed`` was sealed with an earlier KEK than the current one."""
        return self.sealed_with(sealed) != self._current


def ring_from_environment(setting: str, env: dict[str, str] | None = None) -> KeyRing:
    """The key ring in environment variable ``setting``."""
    source = os.environ if env is None else env
    return KeyRing.parse(source.get(setting), setting=setting)


_RINGS: dict[tuple[str, str], KeyRing] = {}


def ring_of(setting: str) -> KeyRing:
    """The key ring in ``setting``, parsed once per value (read again when it changes)."""
    text = os.environ.get(setting, "")
    ring = _RINGS.get((setting, text))
    if ring is None:
        ring = _RINGS[(setting, text)] = ring_from_environment(setting)
    return ring


def check_ring(setting: str) -> None:
    """Stops the process at start, naming ``setting``, when its KEKs are missing or bad."""
    try:
        ring_of(setting)
    except SealingKeyMissing as exc:
        raise SystemExit(f"configuration error:\n  {exc}") from None
