"""An intake command's Idempotency-Key: stored only as a digest, and the seal it gives.

The answer to a consent request holds the parents' link tokens, which are never stored
in the clear (only their hashes, see :mod:`passend_intake.consent_links`). A retry with
the same key must still get exactly the first answer, tokens included. So the answer is
remembered with its tokens sealed under a key derived from the raw Idempotency-Key, and
the backbone's table keeps only a digest of that header: whoever reads the database
can't open the tokens, the caller who retries can. That holds as long as the key can't be
guessed, which is why the API asks for a random one (a UUID).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from passend_backbone.commands import IdempotencyKey

_NONCE_BYTES = 12


def digest(header: str) -> str:
    """What is stored of a raw Idempotency-Key: its SHA-256, hex."""
    return hashlib.sha256(header.encode()).hexdigest()


def key_of(
    swv: str, subject: str, header: str | None, operation: str, body: Any = None
) -> IdempotencyKey | None:
    """The key of one request (None without a header): the caller's scope, the header's
    digest, and a fingerprint of the operation (endpoint and path parameters) and body."""
    if not header:
        return None
    return IdempotencyKey.of(swv, subject, digest(header), operation, body)


@dataclass(frozen=True)
class Seal:
    """AES-GCM under a key derived from the raw header: only its sender can open it."""

    key: bytes = field(repr=False)

    @classmethod
    def of(cls, swv: str, subject: str, header: str | None) -> Seal | None:
        """The seal of the caller's key; None without a header (then nothing is stored)."""
        if not header:
            return None
        derive = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"passend-intake|answer-seal|{swv}|{subject}".encode(),
        )
        return cls(derive.derive(header.encode()))

    def close(self, secret: str) -> str:
        """``secret`` sealed, with a fresh nonce, as base64 text."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, secret.encode(), None)
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> str:
        """The secret :meth:`close` sealed (raises ``InvalidTag`` for another key)."""
        raw = base64.b64decode(sealed)
        nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return AESGCM(self.key).decrypt(nonce, body, None).decode()
