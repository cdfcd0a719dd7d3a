"""Webhooks over HTTP with httpx: a signed POST of the event to a subscriber's URL."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from passend_notifications.channels.outcome import DeliveryFailed
from passend_notifications.domain.signing import (
    DELIVERY_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)


def body_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed): the same for every attempt of one message."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


async def post_webhook(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    message_id: UUID,
    event_type: str,
    body: dict[str, Any],
    now: datetime,
) -> str:
    """POST the signed event; return the SHA-256 of the body. Any non-2xx answer is retried."""
    content = body_bytes(body)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/cloudevents+json",
        DELIVERY_HEADER: str(message_id),
        EVENT_TYPE_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, content),
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
