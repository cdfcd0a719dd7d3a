"""The portal's settings, read from ``PORTAL_*`` environment variables at start."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
    return PortalSettings(
        service_urls=urls,
        session_secret=secret.encode() if secret else secrets.token_bytes(32),
        dev_issuer_dir=Path(issuer_dir) if issuer_dir else None,
        token_issuer=env.get("PORTAL_TOKEN_ISSUER", "passend-dev-issuer"),
        token_audience=env.get("PORTAL_TOKEN_AUDIENCE", "passend"),
        host=host,
        port=port,
        public_url=env.get("PORTAL_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
        secure_cookies=env.get("PORTAL_SECURE_COOKIES", "false").lower() == "true",
        timeout_seconds=float(env.get("PORTAL_TIMEOUT_SECONDS", "10")),
        default_swv=env.get("PORTAL_DEFAULT_SWV", "swv-waterweg"),
    )
