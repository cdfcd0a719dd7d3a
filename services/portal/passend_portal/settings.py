"""The portal's settings, read from ``PORTAL_*`` environment variables at start."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from passend_portal.oidc import OidcConfig

SERVICES = ("intake", "assignment", "trajectory", "notifications")
DEFAULT_PORTS = {"intake": 8001, "assignment": 8002, "trajectory": 8003, "notifications": 8004}


@dataclass(frozen=True)
class PortalSettings:
    """Where the services listen, how sessions are signed and who mints dev tokens."""

    service_urls: Mapping[str, str]
    session_secret: bytes
    dev_issuer_dir: Path | None = None
    token_issuer: str = "passend-dev-issuer"  # noqa: S105 - an issuer name, not a secret
    token_audience: str = "passend"  # noqa: S105 - an audience name, not a secret
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False
    timeout_seconds: float = 10.0
    default_swv: str = "swv-waterweg"
    extra: Mapping[str, str] = field(default_factory=dict)
    # OpenID Connect sign-in (docs/sign-in.md); None: the dev persona picker, if any.
    oidc: OidcConfig | None = None
    # The key that signs the services' tokens; default: the dev issuer's key.
    token_key_file: Path | None = None
    previous_token_key_file: Path | None = None
    session_idle_seconds: float = 30 * 60
    # How long a services' token lives; then the session is refreshed at the provider.
    token_lifetime_seconds: int = 300

    @property
    def signing_key_file(self) -> Path | None:
        if self.token_key_file is not None:
            return self.token_key_file
        if self.dev_issuer_dir is not None:
            return self.dev_issuer_dir / "issuer-key.pem"
        return None

    @property
    def persona_picker(self) -> bool:
        """Dev sign-in by picking a persona: only with the dev issuer and no OIDC provider."""
        return self.dev_issuer_dir is not None and self.oidc is None


def load_settings(env: Mapping[str, str] | None = None) -> PortalSettings:
    """Settings from ``env`` (default: the process environment).

    Without ``PORTAL_SESSION_SECRET`` a random secret is made: sessions then end when the
    process restarts, which is fine in development and never silently weak.
    """
    env = os.environ if env is None else env
    urls = {
        name: env.get(f"PORTAL_{name.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
        for name, port in DEFAULT_PORTS.items()
    }
    secret = env.get("PORTAL_SESSION_SECRET")
    issuer_dir = env.get("PORTAL_DEV_ISSUER_DIR")
    # HTTP_PORT/HTTP_HOST as every service reads them, so the dev stack can start the
    # portal like a service; the PORTAL_ names win when both are set.
    port = int(env.get("PORTAL_HTTP_PORT") or env.get("HTTP_PORT") or "8000")
    host = env.get("PORTAL_HTTP_HOST") or env.get("HTTP_HOST") or "127.0.0.1"
    public_url = env.get("PORTAL_PUBLIC_URL", f"http://{host}:{port}").rstrip("/")
    secure = env.get("PORTAL_SECURE_COOKIES", "auto").lower()
    key_file = env.get("PORTAL_TOKEN_KEY_FILE")
    previous_key_file = env.get("PORTAL_TOKEN_PREVIOUS_KEY_FILE")
    return PortalSettings(
        service_urls=urls,
        session_secret=secret.encode() if secret else secrets.token_bytes(32),
        dev_issuer_dir=Path(issuer_dir) if issuer_dir else None,
        token_issuer=env.get("PORTAL_TOKEN_ISSUER", "passend-dev-issuer"),
        token_audience=env.get("PORTAL_TOKEN_AUDIENCE", "passend"),
        host=host,
        port=port,
        public_url=public_url,
        # Secure cookies wherever the portal is reached over HTTPS (not on a laptop).
        secure_cookies=secure == "true" or (secure == "auto" and public_url.startswith("https")),
        timeout_seconds=float(env.get("PORTAL_TIMEOUT_SECONDS", "10")),
        default_swv=env.get("PORTAL_DEFAULT_SWV", "swv-waterweg"),
        oidc=_oidc(env, public_url),
        token_key_file=Path(key_file) if key_file else None,
        previous_token_key_file=Path(previous_key_file) if previous_key_file else None,
        session_idle_seconds=60 * float(env.get("PORTAL_SESSION_IDLE_MINUTES", "30")),
        token_lifetime_seconds=int(env.get("PORTAL_TOKEN_LIFETIME_SECONDS", "300")),
    )


def _oidc(env: Mapping[str, str], public_url: str) -> OidcConfig | None:
    """The OIDC registration, when ``PORTAL_OIDC_ISSUER`` names a provider."""
    issuer = env.get("PORTAL_OIDC_ISSUER")
    if not issuer:
        return None
    return OidcConfig(
        issuer=issuer,
        client_id=env.get("PORTAL_OIDC_CLIENT_ID", "passend-portal"),
        client_secret=env.get("PORTAL_OIDC_CLIENT_SECRET") or None,
        scopes=env.get("PORTAL_OIDC_SCOPES", "openid profile email"),
        redirect_uri=env.get("PORTAL_OIDC_REDIRECT_URI", f"{public_url}/aanmelden/terug"),
        post_logout_redirect_uri=env.get(
            "PORTAL_OIDC_POST_LOGOUT_REDIRECT_URI", f"{public_url}/afgemeld"
        ),
        subject_claim=env.get("PORTAL_OIDC_SUBJECT_CLAIM", "sub"),
    )
