"""Tokens from the dev OpenID provider for the matrix: people through the sign-in flow and
the portal's signer, machines through the client-credentials grant.

- **People** (``user``): the caller signs in at the provider (authorization code flow with
  PKCE, the ID token checked against the provider's JWKS, issuer, audience and nonce);
  then, as the portal does, the directory says what that subject is in Passend, and the
  portal's :class:`~passend_portal.identity.TokenSigner` signs the services' token. The
  services trust the portal as an issuer of kind ``passend``, its keys at its JWKS URL.
- **Machines** (``machine``): every caller is a machine client of the provider with the
  caller's role and scope in the services' ``AUTH_TRUSTED_ISSUERS`` (Passend's decision),
  and gets its token from the provider's token endpoint by client credentials.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from passend_backbone.auth.keys import IssuerKey
from passend_devstack.issuer import JWKS_PATH, IssuerServer
from passend_devstack.oidc_provider import DevClient, DevUser, OidcProvider
from passend_portal.identity import TokenSigner

PORTAL_ISSUER = "passend-portal-under-test"
PORTAL_CLIENT = "passend-portal"
PORTAL_REDIRECT = "http://portal.test/aanmelden/terug"
AUDIENCE = "passend"
# Tokens are fetched again this long before they expire.
MARGIN_SECONDS = 60


def machine_client_id(key: str) -> str:
    return f"m-{key}"


@dataclass
class ProviderTokens:
    """The provider, the portal's signer, and the tokens handed out so far (by caller key)."""

    provider: OidcProvider
    portal: TokenSigner
    portal_jwks: str
    portal_secret: str
    _cache: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def trusted_issuers(self, machines: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """The services' ``AUTH_TRUSTED_ISSUERS``: the portal's tokens, and the provider's
        client-credentials tokens of ``machines`` (caller key -> its Passend claims)."""
        for key in machines:
            client_id = machine_client_id(key)
            self.provider.clients[client_id] = DevClient(
                client_id, f"secret-{key}", claims={"role": machines[key]["role"]}
            )
        return [
            {
                "issuer": PORTAL_ISSUER,
                "audience": AUDIENCE,
                "kind": "passend",
                "jwks": self.portal_jwks,
            },
            {
                "issuer": self.provider.url,
                "audience": AUDIENCE,
                "kind": "clients",
                "clients": {machine_client_id(k): v for k, v in machines.items()},
            },
        ]

    def _cached(self, kind: str, key: str, fetch: Callable[[], tuple[str, float]]) -> str:
        held = self._cache.get((kind, key))
        if held is None or held[1] - MARGIN_SECONDS < time.time():
            held = fetch()
            self._cache[(kind, key)] = held
        return held[0]

    def machine(self, key: str) -> str:
        """A client-credentials token of the caller's machine client."""

        def fetch() -> tuple[str, float]:
            client_id = machine_client_id(key)
            answer = httpx.post(
                f"{self.provider.url}/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, f"secret-{key}"),
            )
            answer.raise_for_status()
            body = answer.json()
            return body["access_token"], time.time() + float(body["expires_in"])

        return self._cached("machine", key, fetch)

    def user(self, key: str, claims: dict[str, Any]) -> str:
        """The services' token of a person who signed in at the provider as ``claims["sub"]``:
        the provider says who they are, ``claims`` (the directory) what they are."""

        def fetch() -> tuple[str, float]:
            subject = sign_in(self.provider, str(claims["sub"]), self.portal_secret)
            token = self.portal.mint({**claims, "sub": subject}, 3600)
            return token, time.time() + 3600

        return self._cached("user", key, fetch)


def sign_in(provider: OidcProvider, subject: str, client_secret: str) -> str:
    """Sign in at the provider as ``subject`` (one click, PKCE) and return the checked ID
    token's ``sub``, as the portal would."""
    if subject not in provider.users:
        provider.users[subject] = DevUser(subject, f"Matrix {subject}")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    with httpx.Client(base_url=provider.url, follow_redirects=False) as http:
        chosen = http.post(
            "/authorize",
            data={
                "client_id": PORTAL_CLIENT,
                "redirect_uri": PORTAL_REDIRECT,
                "response_type": "code",
                "scope": "openid",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
                "login": subject,
            },
        )
        assert chosen.status_code == 303, chosen.text
        back = parse_qs(urlsplit(chosen.headers["Location"]).query)
        assert back["state"] == [state]
        answer = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": back["code"][0],
                "redirect_uri": PORTAL_REDIRECT,
                "code_verifier": verifier,
            },
            auth=(PORTAL_CLIENT, client_secret),
        )
        assert answer.status_code == 200, answer.text
        jwks = http.get("/jwks").json()
    id_token = answer.json()["id_token"]
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        id_token, key, algorithms=["RS256"], audience=PORTAL_CLIENT, issuer=provider.url
    )
    assert claims["nonce"] == nonce
    return str(claims["sub"])


@contextmanager
def provider_tokens(directory: Path) -> Iterator[ProviderTokens]:
    """The dev provider (the portal its client) and the portal's signer, until the block ends."""
    secret = secrets.token_urlsafe(24)
    portal = DevClient(PORTAL_CLIENT, secret, redirect_uris=(PORTAL_REDIRECT,))
    key = IssuerKey(directory / "portal-key")
    with (
        OidcProvider(directory / "provider", [], [portal]) as provider,
        IssuerServer(key, issuer=PORTAL_ISSUER) as keys,
    ):
        signer = TokenSigner(key.pem_path, issuer=PORTAL_ISSUER, audience=AUDIENCE)
        yield ProviderTokens(provider, signer, keys.url + JWKS_PATH, secret)
