"""Service tokens the dev stack issues: notifications asks intake for parents with them.

In production the identity provider's client-credentials grant issues them and the
deployment renews the files; here the dev issuer mints one per SWV of the dev directory
(role ``service``), writes ``<swv>.jwt`` into a directory notifications reads
(``NOTIFICATIONS_SERVICE_TOKENS``), and mints them again before they expire.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint

SUBJECT = "service:notifications"
LIFETIME_SECONDS = 8 * 3600
# Minted again when less than this is left, so a token read just before renewal still works.
RENEW_BEFORE_SECONDS = 2 * 3600
DEV_SWVS = ("swv-waterweg",)


def token_dir(data_dir: Path) -> Path:
    return data_dir / "service-tokens"


def write_tokens(
    directory: Path,
    issuer: IssuerKey,
    *,
    issuer_name: str,
    audience: str,
    swvs: tuple[str, ...] = DEV_SWVS,
) -> float:
    """Write a fresh token per SWV (readable by this user only); when to write them again."""
    directory.mkdir(parents=True, exist_ok=True)
    for swv in swvs:
        principal = Principal(subject=SUBJECT, role=Role.SERVICE, swv=swv)
        token = mint(
            issuer, principal, issuer=issuer_name, audience=audience,
            lifetime_seconds=LIFETIME_SECONDS,
        )  # fmt: skip
        # Written next to the file and renamed: a reader never sees half a token.
        part = directory / f".{swv}.jwt.part"
        part.write_text(token, encoding="utf-8")
        part.chmod(0o600)
        os.replace(part, directory / f"{swv}.jwt")
    return time.time() + LIFETIME_SECONDS - RENEW_BEFORE_SECONDS
