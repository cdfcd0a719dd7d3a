"""The development OpenID provider: the dev directory's people sign in with one click each.

Only for development and tests, and only on this machine: it asks no password. It speaks
the protocol the portal speaks with every real provider (discovery, authorization code
flow with PKCE, token, JWKS, userinfo, RP-initiated logout, refresh tokens, and the
client-credentials grant for machine clients), so the portal's production code path is
the one exercised every day. Its signing keys can be rotated while it runs
(:meth:`OidcProvider.rotate`), and tests can ask it for a bad ID token
(:attr:`OidcProvider.tamper`) to see that the portal refuses it, or sign access tokens
of their own making (:meth:`OidcProvider.sign`) to see that the services refuse them.

Its machine clients (:func:`machine_clients`, from ``dev_machine_clients.yaml``) get
access tokens for the services' audience through the client-credentials grant; the
services trust the provider for exactly those clients (:func:`trusted_issuer_entry`),
with the Passend role each has there.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from passend_backbone.auth.keys import IssuerKey

DISCOVERY_PATH = "/.well-known/openid-configuration"
DEV_MACHINE_CLIENTS = Path(__file__).with_name("dev_machine_clients.yaml")
# The ``aud`` of client-credentials tokens: the services' AUTH_AUDIENCE.
MACHINE_AUDIENCE = "passend"
COOKIE = "dev_op_sessie"
CODE_SECONDS = 60
ACCESS_SECONDS = 300
# Ways a test may ask for a bad ID token (the portal must refuse each).
TAMPERINGS = ("signature", "issuer", "audience", "expired", "nonce")


@dataclass(frozen=True)
class DevUser:
    """Someone who can sign in here: the subject the portal gets, a name and an address."""

    subject: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class DevClient:
    """A registered client: the portal (code flow) or a machine (client credentials)."""

    client_id: str
    secret: str | None
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    # Machine clients: the Passend claims of their tokens (role, swv, ...).
    claims: dict[str, str] = field(default_factory=dict)


# Someone the provider knows but the directory does not: to see the portal's answer.
STRANGER = DevUser("nieuw-onbekend", "Nina Nieuw (niet in de directory)", "nina@example.test")


def machine_clients(path: Path = DEV_MACHINE_CLIENTS) -> list[DevClient]:
    """The dev machine clients (a municipality's system, an operator's script, ...)."""
    document = yaml.safe_load(path.read_text())
    clients = []
    for entry in document.get("clients", []):
        claims = {
            name: str(entry[name])
            for name in ("role", "swv", "school_id", "work_unit_id", "region")
            if entry.get(name) is not None
        }
        clients.append(DevClient(str(entry["client_id"]), str(entry["secret"]), claims=claims))
    return clients


def trusted_issuer_entry(
    issuer: str, clients: Iterable[DevClient], audience: str = MACHINE_AUDIENCE
) -> dict[str, Any]:
    """The services' ``AUTH_TRUSTED_ISSUERS`` entry for this provider and its machine clients:
    keys through discovery, and each client's Passend role from here, not from its token."""
    return {
        "issuer": issuer,
        "audience": audience,
        "kind": "clients",
        "clients": {c.client_id: dict(c.claims) for c in clients if c.claims},
    }


def users_of_directory(path: Path) -> list[DevUser]:
    """The people of a directory file (dev_directory.yaml), as the provider's users."""
    document = yaml.safe_load(path.read_text())
    users = []
    for swv in document.get("swvs", []):
        for person in swv.get("people", []):
            users.append(
                DevUser(
                    subject=str(person.get("login") or person["person_id"]),
                    name=str(person["display_name"]),
                    email=person.get("email"),
                )
            )
    return users


@dataclass
class _Grant:
    user: DevUser
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    expires: float
    session: str


@dataclass
class _Refresh:
    user: DevUser
    client_id: str
    session: str


class _Key:
    def __init__(self, private: rsa.RSAPrivateKey) -> None:
        self.private = private
        public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        self.kid: str = "op-" + public["n"][:12]
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.public = public


class OidcProvider:
    """Serves the provider on a thread until :meth:`close`; ``url`` is its issuer."""

    def __init__(
        self,
        key_dir: Path,
        users: Iterable[DevUser],
        clients: Iterable[DevClient],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        first = IssuerKey(key_dir)
        self._keys = [_Key(first.private_key)]
        self.users = {u.subject: u for u in users}
        self.clients = {c.client_id: c for c in clients}
        self.tamper: str | None = None
        self.code_seconds = CODE_SECONDS
        self.access_seconds = ACCESS_SECONDS
        self.machine_audience = MACHINE_AUDIENCE
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, DevUser] = {}
        self.sessions: dict[str, DevUser] = {}  # provider session id -> who
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self.port: int = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._unpublished: _Key | None = None
        self._thread = threading.Thread(
            # A short poll: close() (every test's teardown) waits for it.
            target=lambda: self._server.serve_forever(poll_interval=0.05),
            name="dev-oidc-provider",
            daemon=True,
        )
        self._thread.start()

    # -- keys ---------------------------------------------------------------------------

    def rotate(self) -> str:
        """Sign with a new key from now on; the old one stays in the JWKS. The new ``kid``."""
        key = _Key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        with self._lock:
            self._keys.insert(0, key)
        return key.kid

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public for k in self._keys]}

    def _sign(self, claims: dict[str, Any], key: _Key | None = None) -> str:
        key = key or self._keys[0]
        return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})

    def sign(self, claims: dict[str, Any], *, published: bool = True) -> str:
        """A token with these claims signed by the provider's current key, for tests; with
        ``published=False`` by a key of its own that the JWKS never shows (an unknown kid)."""
        if published:
            return self._sign(claims)
        if self._unpublished is None:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._unpublished = _Key(private)
        return self._sign(claims, self._unpublished)

    def machine_claims(self, client_id: str, lifetime_seconds: int | None = None) -> dict[str, Any]:
        """The claims of a client-credentials token of ``client_id`` (RFC 9068 names)."""
        now = int(time.time())
        client = self.clients[client_id]
        return {
            "iss": self.url,
            "sub": client_id,
            "client_id": client_id,
            "aud": self.machine_audience,
            "iat": now,
            "exp": now + (self.access_seconds if lifetime_seconds is None else lifetime_seconds),
            "jti": secrets.token_urlsafe(12),
            # Only for a reader's convenience: the services take a client's role from their
            # own configuration (AUTH_TRUSTED_ISSUERS), never from the token.
            **client.claims,
        }

    def discovery(self) -> dict[str, Any]:
        base = self.url
        return {
            "issuer": base,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "userinfo_endpoint": base + "/userinfo",
            "jwks_uri": base + "/jwks",
            "end_session_endpoint": base + "/end-session",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "name", "email", "iss", "aud", "exp", "iat", "nonce"],
        }

    # -- the protocol ---------------------------------------------------------------------

    def issue_code(self, user: DevUser, params: dict[str, str], session: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                user=user,
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                nonce=params.get("nonce"),
                challenge=params["code_challenge"],
                expires=time.time() + self.code_seconds,
                session=session,
            )
        return code

    def _tokens(
        self, user: DevUser, client_id: str, nonce: str | None, session: str
    ) -> dict[str, Any]:
        now = int(time.time())
        access = self._sign(
            {
                "iss": self.url,
                "sub": user.subject,
                "aud": client_id,
                "iat": now,
                "exp": now + self.access_seconds,
                "scope": "openid profile email",
            }
        )
        digest = hashlib.sha256(access.encode()).digest()
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": user.subject,
            "aud": client_id,
            "iat": now,
            "exp": now + self.access_seconds,
            "auth_time": now,
            "name": user.name,
            "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode(),
        }
        if user.email:
            claims["email"] = user.email
        if nonce is not None:
            claims["nonce"] = nonce
        id_token = self._bad_id_token(claims) if self.tamper else self._sign(claims)
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._access[access] = user
            self._refresh[refresh] = _Refresh(user, client_id, session)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_seconds,
            "id_token": id_token,
            "refresh_token": refresh,
            "scope": "openid profile email",
        }

    def _bad_id_token(self, claims: dict[str, Any]) -> str:
        kind, self.tamper = self.tamper, None
        if kind == "signature":
            good = self._sign(claims)
            head, _, signature = good.split(".")
            forged = dict(claims, sub="ib-marieke", name="Iemand anders")
            new_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=")
            return f"{head}.{new_body.decode()}.{signature}"
        if kind == "issuer":
            return self._sign(dict(claims, iss="https://elders.example"))
        if kind == "audience":
            return self._sign(dict(claims, aud="een-andere-client"))
        if kind == "expired":
            return self._sign(dict(claims, iat=claims["iat"] - 7200, exp=claims["iat"] - 3600))
        if kind == "nonce":
            return self._sign(dict(claims, nonce="een-andere-nonce"))
        raise ValueError(f"unknown tampering {kind!r}; one of {TAMPERINGS}")

    def token(
        self, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        client_id = basic[0] if basic else form.get("client_id", "")
        client = self.clients.get(client_id)
        given = basic[1] if basic else form.get("client_secret")
        if client is None or (client.secret is not None and given != client.secret):
            return 401, {"error": "invalid_client"}
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with self._lock:
                grant = self._codes.pop(form.get("code", ""), None)  # a code works once
            if grant is None or grant.expires < time.time() or grant.client_id != client_id:
                return 400, {"error": "invalid_grant", "error_description": "code unknown"}
            if form.get("redirect_uri") != grant.redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if challenge.rstrip(b"=").decode() != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
            return 200, self._tokens(grant.user, client_id, grant.nonce, grant.session)
        if grant_type == "refresh_token":
            with self._lock:
                held = self._refresh.pop(form.get("refresh_token", ""), None)  # rotated
            if held is None or held.client_id != client_id:
                return 400, {"error": "invalid_grant", "error_description": "refresh token"}
            return 200, self._tokens(held.user, client_id, None, held.session)
        if grant_type == "client_credentials" and client.claims:
            return 200, {
                "access_token": self._sign(self.machine_claims(client_id)),
                "token_type": "Bearer",
                "expires_in": self.access_seconds,
            }
        return 400, {"error": "unsupported_grant_type"}

    def end_session(self, session: str | None) -> None:
        """Sign out at the provider: its session and every refresh token of it end."""
        with self._lock:
            if session:
                self.sessions.pop(session, None)
                for token, held in list(self._refresh.items()):
                    if held.session == session:
                        del self._refresh[token]

    def userinfo(self, access_token: str) -> dict[str, Any] | None:
        with self._lock:
            user = self._access.get(access_token)
        if user is None:
            return None
        info: dict[str, Any] = {"sub": user.subject, "name": user.name}
        if user.email:
            info["email"] = user.email
        return info

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, document: dict[str, Any]) -> None:
            self._send(status, json.dumps(document).encode())

        def _redirect(self, location: str, cookie: str | None = None) -> None:
            headers = {"Location": location}
            if cookie is not None:
                headers["Set-Cookie"] = cookie
            self._send(303, b"", "text/plain", headers)

        def _session(self) -> str | None:
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            morsel = jar.get(COOKIE)
            return morsel.value if morsel else None

        def _query(self) -> dict[str, str]:
            return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == DISCOVERY_PATH:
                self._json(200, provider.discovery())
            elif path == "/jwks":
                self._json(200, provider.jwks)
            elif path == "/authorize":
                self._authorize(self._query(), chosen=None)
            elif path == "/userinfo":
                auth = self.headers.get("Authorization", "")
                info = provider.userinfo(auth.removeprefix("Bearer ").strip())
                if info is None:
                    self._json(401, {"error": "invalid_token"})
                else:
                    self._json(200, info)
            elif path == "/end-session":
                self._end_session(self._query())
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if path == "/authorize":
                form = self._form()
                self._authorize(form, chosen=form.get("login"))
            elif path == "/token":
                status, answer = provider.token(self._form(), self._basic())
                self._json(status, answer)
            else:
                self._json(404, {"error": "not_found"})

        def _basic(self) -> tuple[str, str] | None:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                return None
            user, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            return user, secret

        def _authorize(self, params: dict[str, str], chosen: str | None) -> None:
            client = provider.clients.get(params.get("client_id", ""))
            redirect_uri = params.get("redirect_uri", "")
            if client is None or redirect_uri not in client.redirect_uris:
                # Never redirect to an address nobody registered.
                self._send(400, _page("Onbekende client", ""), "text/html; charset=utf-8")
                return
            state = params.get("state", "")

            def back(**answer: str) -> str:
                answer = {**answer, "state": state, "iss": provider.url}
                return f"{redirect_uri}?{urlencode(answer)}"

            if params.get("response_type") != "code":
                self._redirect(back(error="unsupported_response_type"))
                return
            if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
                self._redirect(back(error="invalid_request", error_description="PKCE S256"))
                return
            session = self._session()
            user = provider.sessions.get(session or "")
            cookie = None
            if user is None and chosen is not None and chosen in provider.users:
                user = provider.users[chosen]
                session = secrets.token_urlsafe(24)
                provider.sessions[session] = user
                cookie = f"{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
            if user is None or session is None:
                self._choose(params)
                return
            code = provider.issue_code(user, params, session)
            self._redirect(back(code=code), cookie)

        def _choose(self, params: dict[str, str]) -> None:
            hidden = "".join(
                f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                for k, v in params.items()
                if k != "login"
            )
            buttons = "".join(
                f"<li><button name='login' value='{html.escape(u.subject)}'>"
                f"{html.escape(u.name)}</button> <small>{html.escape(u.subject)}</small></li>"
                for u in provider.users.values()
            )
            body = (
                "<p>Ontwikkelomgeving: kies wie zich aanmeldt (geen wachtwoord).</p>"
                f"<form method='post' action='/authorize'>{hidden}<ul>{buttons}</ul></form>"
            )
            self._send(
                200, _page("Aanmelden (ontwikkelomgeving)", body), "text/html; charset=utf-8"
            )

        def _end_session(self, params: dict[str, str]) -> None:
            provider.end_session(self._session())
            cleared = f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
            target = params.get("post_logout_redirect_uri")
            client = provider.clients.get(params.get("client_id", ""))
            if client is None and params.get("id_token_hint"):
                audience = jwt.decode(
                    params["id_token_hint"], options={"verify_signature": False}
                ).get("aud")
                client = provider.clients.get(str(audience))
            if target and client is not None and target in client.post_logout_redirect_uris:
                state = params.get("state")
                self._redirect(
                    target + (f"?{urlencode({'state': state})}" if state else ""), cleared
                )
                return
            self._send(
                200,
                _page("Afgemeld bij de inlogdienst", ""),
                "text/html; charset=utf-8",
                {"Set-Cookie": cleared},
            )

        def log_message(self, format: str, *args: Any) -> None:
            return  # query strings carry codes and states: no access log

    return Handler
