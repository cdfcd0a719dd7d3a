"""Webhook signatures in the Standard Webhooks style: how Passend signs, how a receiver verifies.

Every delivery carries three headers:

- ``webhook-id``: the message id, the same on every attempt (a receiver dedupes on it);
- ``webhook-timestamp``: Unix seconds when this attempt was signed;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``,
  several of them separated by spaces while a secret is being rotated (the old and the
  new secret both sign during the overlap period the operator chose).

The HMAC key is the subscription's secret as UTF-8 bytes. A receiver accepts a delivery
when one of the signatures matches one of the secrets it holds and the timestamp is within
its tolerance, so a captured request can't be replayed later. The libraries of
standardwebhooks.com verify these headers too, given the secret as ``whsec_`` followed by
the base64 of its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from passend_contracts import integration

# The header names are the public contract's (passend_contracts.integration.WEBHOOK_HEADERS).
ID_HEADER = integration.WEBHOOK_ID_HEADER
TIMESTAMP_HEADER = integration.WEBHOOK_TIMESTAMP_HEADER
SIGNATURE_HEADER = integration.WEBHOOK_SIGNATURE_HEADER
EVENT_TYPE_HEADER = integration.WEBHOOK_EVENT_TYPE_HEADER

VERSION = "v1"
TOLERANCE_SECONDS = 300


class WebhookRejected(Exception):
    """The delivery is not Passend's, was changed on the way, or is too old or too new."""


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` for ``message_id`` signed at ``timestamp``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(mac).decode()}"


def signature_header(secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret valid now, space-separated."""
    return " ".join(signature(s, message_id, timestamp, body) for s in secrets)


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Iterable[str],
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """What a receiver does before it trusts a delivery; returns its ``webhook-id``.

    ``headers`` as received (names in any case), ``body`` the raw bytes (before any JSON
    parsing: a parser may reorder or re-encode them), ``secrets`` every secret the
    receiver holds now (two while it moves to a rotated one). Raises
    :class:`WebhookRejected` when the headers are missing, the timestamp is further than
    ``tolerance`` seconds from ``now`` (a replay), or no signature matches any secret.
    """
    named = {k.lower(): v for k, v in headers.items()}
    message_id = named.get(ID_HEADER)
    stamp = named.get(TIMESTAMP_HEADER)
    offered = named.get(SIGNATURE_HEADER)
    if not message_id or not stamp or not offered:
        raise WebhookRejected("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookRejected("webhook-timestamp is not a number of seconds") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookRejected("webhook-timestamp is outside the tolerance: a replay or a bad clock")
    candidates = [s for s in offered.split(" ") if s.startswith(f"{VERSION},")]
    for secret in secrets:
        expected = signature(secret, message_id, timestamp, body)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return message_id
    raise WebhookRejected("no signature matches a secret of this receiver")
