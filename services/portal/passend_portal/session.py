"""The signed session cookie: who is signed in and the bearer token the services accept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

COOKIE = "passend_sessie"
MAX_AGE_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    """The signed-in user: their claims (for the pages) and their token (for the services)."""

    token: str
    subject: str
    role: str
    swv: str
    school_id: str | None = None
    work_unit_id: str | None = None
    region: str | None = None
    started: float = 0.0


def _sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def encode(session: Session, secret: bytes) -> str:
    """``base64(json).hmac``: readable by nobody's trust but ours, tamper-evident."""
    body = base64.urlsafe_b64encode(json.dumps(asdict(session)).encode()).decode()
    return f"{body}.{_sign(secret, body.encode())}"


def decode(value: str | None, secret: bytes, now: float | None = None) -> Session | None:
    """The session in a cookie value, or None if absent, forged, malformed or too old."""
    if not value or "." not in value:
        return None
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, body.encode())):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body.encode()))
        session = Session(**data)
    except (ValueError, TypeError):
        return None
    moment = time.time() if now is None else now
    if moment - session.started > MAX_AGE_SECONDS:
        return None
    return session
