"""Signing keys: the JWKS a verifier trusts, and the dev issuer's own key pair."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Key types a token of a trusted issuer may be signed with: public-key signatures only,
# so a shared secret (``oct``) in a JWKS can never verify anything.
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})

log = structlog.get_logger(__name__)


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched and none are known yet: nobody can be checked."""


class KeySet:
    """One issuer's public keys (JWKS), from a URL, a file or the issuer's discovery document.

    The keys are fetched again when they are older than ``refresh_seconds``, and at once
    when a token names a ``kid`` the set does not hold (a key rotation at the issuer is
    picked up without a restart). Fetches for an unknown ``kid`` are rate limited: at most
    one every ``min_refetch_seconds``, so tokens with made-up key ids can't make Passend
    hammer the identity provider. A failed refresh keeps the keys it had.
    """

    def __init__(
        self,
        source: str,
        refresh_seconds: float = 60.0,
        *,
        min_refetch_seconds: float = 10.0,
        discovery_issuer: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.min_refetch_seconds = min_refetch_seconds
        # Set when ``source`` is the issuer's discovery document, not its JWKS.
        self.discovery_issuer = discovery_issuer
        self.timeout = timeout
        self._keys: dict[str, Any] = {}
        self._loaded_at = float("-inf")
        self._tried_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0  # how often the keys were fetched (tests and metrics read it)

    @classmethod
    def discovered(cls, issuer: str, **options: Any) -> KeySet:
        """The keys of ``issuer``, found through its ``/.well-known/openid-configuration``."""
        return cls(issuer.rstrip("/") + DISCOVERY_PATH, discovery_issuer=issuer, **options)

    def _read(self, location: str) -> dict[str, Any]:
        if location.startswith(("http://", "https://")):
            answer = httpx.get(location, timeout=self.timeout, follow_redirects=False)
            document: dict[str, Any] = answer.raise_for_status().json()
            return document
        loaded: dict[str, Any] = json.loads(Path(location).read_text())
        return loaded

    def _jwks_location(self) -> str:
        if self.discovery_issuer is None:
            return self.source
        metadata = self._read(self.source)
        # OIDC Discovery 4.3: the document must name the issuer it was fetched for.
        if metadata.get("issuer") != self.discovery_issuer:
            raise ValueError(f"discovery document at {self.source} names another issuer")
        location = metadata.get("jwks_uri")
        if not isinstance(location, str) or not location.startswith(("http://", "https://")):
            raise ValueError(f"discovery document at {self.source} has no jwks_uri")
        return location

    def _load(self) -> None:
        self._tried_at = time.monotonic()
        self.fetches += 1
        document = self._read(self._jwks_location())
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") not in _KEY_TYPES:
                continue
            if jwk.get("use", "sig") != "sig":
                continue  # an encryption key never verifies a signature
            try:
                keys[str(jwk.get("kid", ""))] = jwt.PyJWK.from_dict(jwk).key
            except jwt.PyJWTError:
                continue  # one key we can't use must not cost the others
        self._keys = keys
        self._loaded_at = time.monotonic()

    def _refresh(self) -> None:
        if time.monotonic() - self._tried_at < self.min_refetch_seconds:
            # Rate limit: the last fetch (or attempt) was moments ago.
            if not self._keys:
                raise KeysUnavailable(f"the keys at {self.source} could not be fetched")
            return
        try:
            self._load()
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("jwks_fetch_failed", source=self.source, error=type(exc).__name__)
            if not self._keys:
                raise KeysUnavailable(f"the keys at {self.source} could not be fetched") from exc

    def key(self, kid: str) -> Any:
        """The public key named ``kid``; ``jwt.InvalidKeyError`` if the issuer has none."""
        with self._lock:
            stale = time.monotonic() - self._loaded_at > self.refresh_seconds
            if stale or kid not in self._keys:
                self._refresh()
            if kid not in self._keys:
                if kid == "" and len(self._keys) == 1:
                    # A token without ``kid`` from an issuer with one key (RFC 7515 4.1.4
                    # makes ``kid`` optional).
                    return next(iter(self._keys.values()))
                raise jwt.InvalidKeyError(f"no signing key with kid {kid!r} at the issuer")
            return self._keys[kid]


class IssuerKey:
    """An RSA signing key on disk (PEM), created on first use; the dev issuer's identity."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.pem_path = directory / "issuer-key.pem"
        self.jwks_path = directory / "jwks.json"
        if not self.pem_path.exists():
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            self.pem_path.write_bytes(pem)
            self.pem_path.chmod(0o600)
        loaded = serialization.load_pem_private_key(self.pem_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise TypeError(f"{self.pem_path} does not hold an RSA private key")
        self.private_key: rsa.RSAPrivateKey = loaded
        public_jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        self.kid = public_jwk["n"][:16]
        public_jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.jwks: dict[str, Any] = {"keys": [public_jwk]}
        self.jwks_path.write_text(json.dumps(self.jwks, indent=2) + "\n")
