"""Minting and verifying bearer tokens (JWT, RS256) carrying a Passend principal."""

from __future__ import annotations

import time
from typing import Any

import jwt

from passend_backbone.auth.keys import IssuerKey, KeySet
from passend_backbone.auth.principal import Principal, Role


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, or not for us."""


# Verified tokens remembered at most this many at once: a client sends the same token
# with every request, and the signature check and claim parsing cost more than the rest
# of authentication together.
_CACHED_TOKENS = 1024


class TokenVerifier:
    """Checks signature (against the issuer's JWKS), issuer, audience and expiry.

    A token that passed is remembered by its exact text (signature included, so any
    changed byte is a different token that is checked in full) until it expires or, at
    the latest, until the key set is due for a refresh, so a key the issuer withdrew
    stops being trusted as soon as it would without the memory.
    """

    def __init__(self, *, issuer: str, audience: str, keys: KeySet) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (who, valid until)

    def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, valid_until = remembered
            if time.time() < valid_until:
                return principal
            del self._verified[token]
        principal, expires_at = self._verify(token)
        if len(self._verified) >= _CACHED_TOKENS:
            # The oldest entry goes first (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (
            principal,
            min(expires_at, time.time() + self.keys.refresh_seconds),
        )
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        """The principal and the token's expiry time, or :class:`InvalidToken`."""
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.key(str(header.get("kid", "")))
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            principal = Principal(
                subject=str(claims["sub"]),
                role=Role(claims["role"]),
                swv=str(claims["swv"]),
                school_id=claims.get("school_id"),
                work_unit_id=claims.get("work_unit_id"),
                region=claims.get("region"),
                pupil_refs=_pupil_refs(claims.get("pupil_refs")),
            )
            return principal, float(claims["exp"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc


def _pupil_refs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("claim pupil_refs must be a list of strings")
    return tuple(value)


def mint(
    key: IssuerKey,
    principal: Principal,
    *,
    issuer: str,
    audience: str,
    lifetime_seconds: int = 8 * 3600,
) -> str:
    """A signed token for ``principal`` (the dev issuer and tests use this)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": principal.subject,
        "iat": now,
        "exp": now + lifetime_seconds,
        "role": principal.role.value,
        "swv": principal.swv,
    }
    for name in ("school_id", "work_unit_id", "region"):
        value = getattr(principal, name)
        if value is not None:
            claims[name] = value
    if principal.pupil_refs:
        claims["pupil_refs"] = list(principal.pupil_refs)
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
