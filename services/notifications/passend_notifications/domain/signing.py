"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, with a shared secret.

Headers sent with every delivery:

- ``Passend-Delivery-Id``: the message id, the same on every attempt (receivers dedupe on it)
- ``Passend-Timestamp``: Unix seconds when this attempt was signed
- ``Passend-Signature``: ``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``

A receiver recomputes the HMAC over the raw body and rejects a timestamp older than its
tolerance, so a captured request can't be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Passend-Signature"
TIMESTAMP_HEADER = "Passend-Timestamp"
DELIVERY_HEADER = "Passend-Delivery-Id"
EVENT_TYPE_HEADER = "Passend-Event-Type"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Passend-Signature`` value for ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    secret: str, timestamp: int, body: bytes, signature: str, *, now: int, tolerance: int = 300
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
