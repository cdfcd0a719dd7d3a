"""An intake command's Idempotency-Key, stored only as a digest of the header.

The backbone's table keeps a digest of the raw header, never the header itself. What is
remembered with it never holds a parent's link token either: the answer to a consent
request names the links, and their tokens are derived again from the pupil's key when
the answer is shown (:mod:`passend_intake.link_tokens`), so a retry shows the same links.
"""

from __future__ import annotations

import hashlib
from typing import Any

from passend_backbone.commands import IdempotencyKey


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
