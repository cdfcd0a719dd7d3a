"""Webhooks over HTTP with httpx: a POST of the event to a subscriber's URL, signed in the
Standard Webhooks style (:mod:`passend_consumerkit.webhooks`, where receivers verify)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from passend_consumerkit.webhooks import (
    EVENT_TYPE_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_header,
)
from passend_notifications.channels.outcome import DeliveryFailed


def body_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed): the same for every attempt of one message."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


async def post_webhook(
    client: httpx.AsyncClient,
    url: str,
    secrets: Sequence[str],
    message_id: UUID,
    event_type: str,
    body: dict[str, Any],
    now: datetime,
) -> str:
    """POST the signed event; return the SHA-256 of the body. Any non-2xx answer is retried.

    ``secrets`` are those valid now: one, or two during a rotation's overlap period, each
    giving one signature, so a receiver holding either verifies.
    """
    content = body_bytes(body)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/cloudevents+json",
        ID_HEADER: str(message_id),
        EVENT_TYPE_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(secrets, str(message_id), timestamp, content),
    }
    try:
        response = await client.post(url, content=content, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise DeliveryFailed(f"endpoint not reached: {exc!r}") from exc
    except httpx.HTTPError as exc:
        # The request may have arrived; the receiver dedupes on the delivery id.
        raise DeliveryFailed(f"endpoint did not answer: {exc!r}", uncertain=True) from exc
    if not response.is_success:
        raise DeliveryFailed(f"endpoint answered HTTP {response.status_code}")
    return hashlib.sha256(content).hexdigest()
