"""Signing keys: the JWKS a verifier trusts, and the dev issuer's own key pair."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class KeySet:
    """The issuer's public keys (JWKS) from a URL or a file, refreshed at most every minute.

    A token whose ``kid`` is unknown triggers one refresh, so a key rotation at the
    issuer is picked up without a restart.
    """

    def __init__(self, source: str, refresh_seconds: float = 60.0) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self._keys: dict[str, Any] = {}
        self._loaded_at = float("-inf")

    def _load(self) -> None:
        if self.source.startswith(("http://", "https://")):
            document = httpx.get(self.source, timeout=5.0).raise_for_status().json()
        else:
            document = json.loads(Path(self.source).read_text())
        self._keys = {
            key["kid"]: RSAAlgorithm.from_jwk(json.dumps(key))
            for key in document.get("keys", [])
            if key.get("kty") == "RSA"
        }
        self._loaded_at = time.monotonic()

    def key(self, kid: str) -> Any:
        stale = time.monotonic() - self._loaded_at > self.refresh_seconds
        if stale or kid not in self._keys:
            self._load()
        if kid not in self._keys:
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
