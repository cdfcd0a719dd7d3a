"""The signed session cookie: who is signed in and the bearer token the services accept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

COOKIE = "passend_sessie"
# The longest a session lasts, however active (a working day).
MAX_AGE_SECONDS = 8 * 3600
# A session nobody used for this long has ended: a shared computer in a staff room.
IDLE_SECONDS = 30 * 60
# Browsers keep a cookie of up to 4096 bytes (name and attributes included).
COOKIE_LIMIT = 3800


@dataclass(frozen=True)
class Session:
    """The signed-in user: their claims (for the pages) and their token (for the services).

    ``refresh_at`` (0: never) is when the token is due for renewal at the identity
    provider; ``seen`` is the last request, for the idle timeout.
    """

    token: str
    subject: str
    role: str
    swv: str
    school_id: str | None = None
    work_unit_id: str | None = None
    region: str | None = None
    started: float = 0.0
    display_name: str | None = None
    id_token: str | None = None
    refresh_token: str | None = None
    refresh_at: float = 0.0
    seen: float = 0.0


def _sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def encode(session: Session, secret: bytes) -> str:
    """``base64(json).hmac`` (unpadded: a cookie value needs no quotes): tamper-evident."""
    body = base64.urlsafe_b64encode(json.dumps(asdict(session)).encode()).decode().rstrip("=")
    return f"{body}.{_sign(secret, body.encode())}"


def encode_fitting(session: Session, secret: bytes) -> str:
    """:func:`encode`, leaving the provider's ID token out when the cookie would be too
    big for a browser (some providers' tokens are large); sign-out then goes to the
    provider without ``id_token_hint``."""
    value = encode(session, secret)
    if len(value) > COOKIE_LIMIT and session.id_token:
        value = encode(replace(session, id_token=None), secret)
    return value


def read(value: str | None, secret: bytes) -> Session | None:
    """The session in a cookie value whatever its age, or None if absent, forged or malformed."""
    if not value or "." not in value:
        return None
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, body.encode())):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body.encode() + b"=="))
        return Session(**data)
    except (ValueError, TypeError):
        return None


def has_ended(
    session: Session, now: float | None = None, idle_seconds: float = IDLE_SECONDS
) -> bool:
    """Whether the session is past its maximum age or was idle too long."""
    moment = time.time() if now is None else now
    if moment - session.started > MAX_AGE_SECONDS:
        return True
    return session.seen > 0 and moment - session.seen > idle_seconds


def decode(
    value: str | None,
    secret: bytes,
    now: float | None = None,
    idle_seconds: float = IDLE_SECONDS,
) -> Session | None:
    """The session in a cookie value, or None if absent, forged, malformed or ended."""
    session = read(value, secret)
    if session is None or has_ended(session, now, idle_seconds):
        return None
    return session
