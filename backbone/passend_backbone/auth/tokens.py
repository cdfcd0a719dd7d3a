"""Minting and verifying bearer tokens (JWT, RS256) carrying a Passend principal."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from passend_backbone.auth.keys import IssuerKey, KeySet
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.trust import TrustedIssuer


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, or not for us."""


# Verified tokens remembered at most this many at once: a client sends the same token
# with every request, and the signature check and claim parsing cost more than the rest
# of authentication together.
_CACHED_TOKENS = 1024


@dataclass(frozen=True)
class _Trusted:
    config: TrustedIssuer
    keys: KeySet


def key_set_of(entry: TrustedIssuer) -> KeySet:
    """The keys of a trusted issuer: its configured JWKS, or the one its discovery names."""
    if entry.jwks:
        return KeySet(entry.jwks)
    return KeySet.discovered(entry.issuer)


# Reads a token's header and claims before the signature is checked, only to know which
# issuer's rules and keys check it (a separate object: nothing here trusts what it reads).
_UNVERIFIED = jwt.PyJWT()


class TokenVerifier:
    """Checks signature (against the issuer's JWKS), issuer, audience and expiry.

    ``issuer``/``audience``/``keys`` are Passend's own issuer (the portal: its tokens carry
    the directory's claims); ``also`` are more trusted issuers (:mod:`.trust`), typically
    the identity provider whose client-credentials tokens machine clients send. A token is
    checked against the rules of the one issuer its ``iss`` names, and only if that issuer
    is trusted: the algorithm must be one the issuer is allowed, the key one of its JWKS,
    the audience its configured one.

    A token that passed is remembered by its exact text (signature included, so any
    changed byte is a different token that is checked in full) until it expires or, at
    the latest, until the key set is due for a refresh, so a key the issuer withdrew
    stops being trusted as soon as it would without the memory.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySet,
        also: Sequence[TrustedIssuer] = (),
        key_sets: Mapping[str, KeySet] | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        own = TrustedIssuer(
            issuer=issuer, audience=audience, jwks=keys.source, kind="passend", leeway_seconds=0
        )
        self._trusted: dict[str, _Trusted] = {issuer: _Trusted(own, keys)}
        for entry in also:
            if entry.issuer in self._trusted:
                raise ValueError(f"issuer {entry.issuer!r} is trusted twice")
            given = (key_sets or {}).get(entry.issuer)
            self._trusted[entry.issuer] = _Trusted(entry, given or key_set_of(entry))
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (who, valid until)

    @property
    def issuers(self) -> tuple[str, ...]:
        """The issuers whose tokens are accepted, Passend's own first."""
        return tuple(self._trusted)

    def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, valid_until = remembered
            if time.time() < valid_until:
                return principal
            del self._verified[token]
        principal, expires_at, trusted = self._verify(token)
        if len(self._verified) >= _CACHED_TOKENS:
            # The oldest entry goes first (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (
            principal,
            min(expires_at, time.time() + trusted.keys.refresh_seconds),
        )
        return principal

    def _verify(self, token: str) -> tuple[Principal, float, _Trusted]:
        """The principal, the token's expiry time and its issuer, or :class:`InvalidToken`.

        :class:`~passend_backbone.auth.keys.KeysUnavailable` passes through: the token may
        be fine, the issuer's keys could not be fetched.
        """
        try:
            header = jwt.get_unverified_header(token)
            unverified = _UNVERIFIED.decode(token, options={"verify_signature": False})
            trusted = self._trusted.get(str(unverified.get("iss", "")))
            if trusted is None:
                raise InvalidToken("the token's issuer is not trusted")
            config = trusted.config
            if header.get("alg") not in config.algorithms:
                raise InvalidToken(f"algorithm {header.get('alg')!r} not allowed for this issuer")
            key = trusted.keys.key(str(header.get("kid", "")))
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=list(config.algorithms),
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            if config.kind == "passend":
                principal = _passend_principal(claims)
            else:
                principal = _client_principal(config, claims)
            return principal, float(claims["exp"]), trusted
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc


def _passend_principal(claims: dict[str, Any]) -> Principal:
    """The directory's claims, as the portal (or the dev issuer) signed them."""
    return Principal(
        subject=str(claims["sub"]),
        role=Role(claims["role"]),
        swv=str(claims["swv"]),
        school_id=claims.get("school_id"),
        work_unit_id=claims.get("work_unit_id"),
        region=claims.get("region"),
        pupil_refs=_pupil_refs(claims.get("pupil_refs")),
    )


def _client_principal(config: TrustedIssuer, claims: dict[str, Any]) -> Principal:
    """What a machine client is in Passend, from the configuration, never from its token.

    Only a client-credentials token passes: one whose ``sub`` is the client itself (its
    id, or the configured subject). A token the same client got for a person names the
    person in ``sub`` and is refused, as is a client Passend does not know.
    """
    client_id = next(
        (
            str(claims[name])
            for name in config.client_id_claims
            if isinstance(claims.get(name), str)
        ),
        None,
    )
    if client_id is None:
        raise InvalidToken("the token names no client")
    client = config.clients.get(client_id)
    if client is None:
        raise InvalidToken("the client is not known to Passend")
    if str(claims["sub"]) != (client.subject or client_id):
        raise InvalidToken(
            "a token of this issuer for a person: people use Passend through the portal"
        )
    return client.principal(client_id)


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


def verifier_for(
    *, issuer: str, audience: str, jwks: str, trusted: Sequence[TrustedIssuer] = ()
) -> TokenVerifier:
    """The verifier a service installs: Passend's own issuer (``AUTH_ISSUER``,
    ``AUTH_AUDIENCE``, ``AUTH_JWKS``) and the providers of ``AUTH_TRUSTED_ISSUERS``."""
    return TokenVerifier(issuer=issuer, audience=audience, keys=KeySet(jwks), also=trusted)
