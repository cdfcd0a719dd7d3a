"""The OpenID Connect relying party: discovery, the code flow with PKCE, ID tokens, logout.

The protocol is Authlib's (the authorization request with its PKCE challenge, and its
``CodeIDToken`` claims with joserfc for checking the ID token); this module keeps the
provider's metadata and keys, posts the two token requests, and names what went wrong
so the sign-in pages can say it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import encode_client_secret_basic
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Metadata and keys are fetched again after this long; an unknown ``kid`` fetches the keys
# at once (key rotation at the provider needs no restart of the portal).
METADATA_SECONDS = 3600.0
LEEWAY_SECONDS = 60


class SignInFailed(Exception):
    """The sign-in could not be completed; ``reason`` names why (for the page and the log)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class HasIdToken(Protocol):
    """A session as far as a refresh needs it."""

    @property
    def subject(self) -> str: ...

    @property
    def id_token(self) -> str | None: ...


@dataclass(frozen=True)
class OidcConfig:
    """One deployment's relying-party registration at its identity provider."""

    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    redirect_uri: str
    post_logout_redirect_uri: str
    subject_claim: str = "sub"


@dataclass(frozen=True)
class Transaction:
    """What the browser carries from the authorization request to the callback."""

    state: str
    nonce: str
    code_verifier: str
    started: float
    return_to: str = "/"


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, with the tokens the session keeps."""

    subject: str
    claims: dict[str, Any]
    id_token: str
    refresh_token: str | None
    expires_in: float | None


class OidcClient:
    """The portal as a relying party of one OpenID provider."""

    def __init__(self, config: OidcConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = float("-inf")
        self._keys: dict[str, Any] | None = None
        self._keys_at = float("-inf")

    async def _token_request(self, form: dict[str, str], refused: str) -> dict[str, Any]:
        """POST to the token endpoint (client_secret_basic, or a public client's id)."""
        metadata = await self.metadata()
        headers = {"Accept": "application/json"}
        if self.config.client_secret:
            _, headers, _ = encode_client_secret_basic(self.config, "POST", "", headers, "")
        else:
            form = {**form, "client_id": self.config.client_id}
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=10.0) as http:
                answer = await http.post(
                    str(metadata["token_endpoint"]),
                    data=form,
                    headers=headers,
                )
        except httpx.HTTPError as exc:
            raise SignInFailed("provider_unreachable", type(exc).__name__) from exc
        if answer.status_code >= 500:
            raise SignInFailed("provider_unreachable", f"status {answer.status_code}")
        try:
            token: dict[str, Any] = answer.json()
        except ValueError as exc:
            raise SignInFailed(refused, "no JSON") from exc
        if answer.status_code != 200 or "error" in token:
            raise SignInFailed(refused, str(token.get("error", answer.status_code)))
        return token

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=10.0) as http:
                answer = await http.get(url)
                answer.raise_for_status()
                document: dict[str, Any] = answer.json()
                return document
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInFailed("provider_unreachable", type(exc).__name__) from exc

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached), checked to be the configured issuer's."""
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            document = await self._get_json(self.config.issuer.rstrip("/") + DISCOVERY_PATH)
            if document.get("issuer") != self.config.issuer:
                raise SignInFailed("wrong_issuer", "discovery document of another issuer")
            self._metadata, self._metadata_at = document, time.monotonic()
        return self._metadata

    async def _key_set(self, *, force: bool = False) -> KeySet:
        stale = time.monotonic() - self._keys_at > METADATA_SECONDS
        if self._keys is None or stale or force:
            metadata = await self.metadata()
            self._keys = await self._get_json(str(metadata["jwks_uri"]))
            self._keys_at = time.monotonic()
        return KeySet.import_key_set(self._keys)  # type: ignore[arg-type]

    async def start(self, return_to: str = "/") -> tuple[str, Transaction]:
        """The provider's authorization URL and the transaction to keep until the callback."""
        metadata = await self.metadata()
        transaction = Transaction(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
            started=time.time(),
            return_to=return_to,
        )
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self.config.client_id,
            response_type="code",
            redirect_uri=self.config.redirect_uri,
            scope=self.config.scopes,
            state=transaction.state,
            nonce=transaction.nonce,
            code_challenge=create_s256_code_challenge(transaction.code_verifier),
            code_challenge_method="S256",
        )
        return str(url), transaction

    async def finish(self, params: dict[str, str], transaction: Transaction | None) -> Identity:
        """Check the callback against ``transaction``, exchange the code, check the ID token."""
        if transaction is None:
            raise SignInFailed("no_transaction", "no sign-in was started in this browser")
        if params.get("state") != transaction.state:
            raise SignInFailed("wrong_state", "state differs from the one sent")
        if "error" in params:
            raise SignInFailed("provider_error", params.get("error", ""))
        code = params.get("code")
        if not code:
            raise SignInFailed("no_code", "callback without a code")
        token = await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.redirect_uri,
                "code_verifier": transaction.code_verifier,
            },
            "code_refused",
        )
        return await self._identity(token, nonce=transaction.nonce)

    async def refresh(self, refresh_token: str, previous: HasIdToken) -> Identity:
        """New tokens for a session whose tokens are due (refresh-token grant)."""
        token = await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, "refresh_refused"
        )
        # A refresh answer need not carry a new ID token (OIDC Core 12.2); without one the
        # session keeps the subject it had, which the caller checks again at the directory.
        if not token.get("id_token"):
            expires_in = token.get("expires_in")
            return Identity(
                subject=previous.subject,
                claims={},
                id_token=previous.id_token or "",
                refresh_token=token.get("refresh_token") or refresh_token,
                expires_in=float(expires_in) if expires_in is not None else None,
            )
        return await self._identity(token, nonce=None, refreshed_from=refresh_token)

    async def _identity(
        self, token: dict[str, Any], *, nonce: str | None, refreshed_from: str | None = None
    ) -> Identity:
        id_token = token.get("id_token")
        if not id_token:
            raise SignInFailed("no_id_token", "the token answer holds no ID token")
        claims = await self.validate_id_token(
            str(id_token), nonce=nonce, access_token=token.get("access_token")
        )
        subject = claims.get(self.config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise SignInFailed("no_subject", f"claim {self.config.subject_claim} missing")
        expires_in = token.get("expires_in")
        return Identity(
            subject=subject,
            claims=claims,
            id_token=str(id_token),
            refresh_token=token.get("refresh_token") or refreshed_from,
            expires_in=float(expires_in) if expires_in is not None else None,
        )

    async def validate_id_token(
        self, id_token: str, *, nonce: str | None, access_token: str | None = None
    ) -> dict[str, Any]:
        """The ID token's claims after checking signature (JWKS, refetched for an unknown
        key), issuer, audience, expiry, nonce and ``at_hash``; else :class:`SignInFailed`."""
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        allowed = [a for a in algorithms if a != "none"]
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=allowed)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, await self._key_set(force=True), algorithms=allowed)
            params: dict[str, Any] = {"client_id": self.config.client_id}
            if nonce is not None:
                params["nonce"] = nonce
            if access_token:
                params["access_token"] = access_token
            options: dict[str, Any] = {
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "value": self.config.client_id},
            }
            if nonce is not None:
                options["nonce"] = {"essential": True, "value": nonce}
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError) as exc:
            raise SignInFailed("bad_id_token", type(exc).__name__) from exc
        return dict(claims)

    async def logout_url(self, id_token: str | None) -> str | None:
        """RP-initiated logout at the provider, or None when it has no end-session endpoint."""
        try:
            metadata = await self.metadata()
        except SignInFailed:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": self.config.post_logout_redirect_uri,
        }
        if id_token:
            params["id_token_hint"] = id_token
        return str(httpx.URL(str(endpoint), params=params))
