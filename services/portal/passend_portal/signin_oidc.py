"""OpenID Connect sign-in: the transaction cookie between redirect and callback, and the
session of a person the provider signed in and the directory knows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, replace

from passend_portal.identity import Person, TokenSigner
from passend_portal.oidc import Identity, Transaction
from passend_portal.session import Session

TRANSACTION_COOKIE = "passend_aanmelding"
# A sign-in at the provider must finish within this long (an expired code fails anyway).
TRANSACTION_SECONDS = 600


def _sign(secret: bytes, body: bytes) -> str:
    # Another purpose than the session cookie's signature: one can't pass for the other.
    return hmac.new(secret, b"oidc-transaction:" + body, hashlib.sha256).hexdigest()


def encode_transaction(transaction: Transaction, secret: bytes) -> str:
    body = base64.urlsafe_b64encode(json.dumps(asdict(transaction)).encode()).decode().rstrip("=")
    return f"{body}.{_sign(secret, body.encode())}"


def decode_transaction(
    value: str | None, secret: bytes, now: float | None = None
) -> Transaction | None:
    """The transaction in the cookie, or None if absent, forged or older than allowed."""
    if not value or "." not in value:
        return None
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, body.encode())):
        return None
    try:
        transaction = Transaction(**json.loads(base64.urlsafe_b64decode(body.encode() + b"==")))
    except (ValueError, TypeError):
        return None
    moment = time.time() if now is None else now
    if moment - transaction.started > TRANSACTION_SECONDS:
        return None
    return transaction


def safe_return_path(value: str | None) -> str:
    """Only a path of this portal (never another site) to go back to after signing in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def session_of(
    person: Person,
    identity: Identity,
    signer: TokenSigner,
    lifetime_seconds: int,
    *,
    previous: Session | None = None,
) -> Session:
    """The session of ``person``: a services' token with the directory's claims, due for
    renewal when it or the provider's tokens run out, whichever is first."""
    now = time.time()
    lifetime = lifetime_seconds
    if identity.expires_in is not None:
        lifetime = max(30, min(lifetime, int(identity.expires_in)))
    token = signer.mint(person.claims(), lifetime + 60)
    fresh = Session(
        token=token,
        subject=person.person_id,
        role=person.role,
        swv=person.swv,
        school_id=person.school_id,
        work_unit_id=person.work_unit_id,
        region=person.region,
        started=now,
        display_name=person.display_name,
        id_token=identity.id_token,
        refresh_token=identity.refresh_token,
        refresh_at=now + lifetime,
        seen=now,
    )
    if previous is not None:
        # A refresh continues the session: its maximum age counts from the sign-in.
        fresh = replace(fresh, started=previous.started)
    return fresh
