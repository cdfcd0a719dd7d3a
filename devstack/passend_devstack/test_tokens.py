"""Tokens for tests: one issuer key per test session, its JWKS in a temporary file.

``AUTH_JWKS`` etc. must point at this issuer in the services under test; the suite's
conftest sets them from :func:`auth_env` before any service starts.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint

ISSUER = "passend-test-issuer"
AUDIENCE = "passend"


@functools.cache
def issuer_key() -> IssuerKey:
    return IssuerKey(Path(tempfile.mkdtemp(prefix="passend-test-issuer-")))


def auth_env() -> dict[str, str]:
    """Environment variables that make a service trust the test issuer."""
    return {
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "AUTH_JWKS": str(issuer_key().jwks_path),
    }


def token_for(
    role: Role | str,
    swv: str,
    *,
    subject: str = "user-1",
    school_id: str | None = None,
    work_unit_id: str | None = None,
    region: str | None = None,
    pupil_refs: tuple[str, ...] = (),
) -> str:
    """A valid bearer token for a principal with these claims."""
    principal = Principal(
        subject=subject,
        role=Role(role),
        swv=swv,
        school_id=school_id,
        work_unit_id=work_unit_id,
        region=region,
        pupil_refs=pupil_refs,
    )
    return mint(issuer_key(), principal, issuer=ISSUER, audience=AUDIENCE)


def auth_header(role: Role | str, swv: str, **claims: Any) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` for a principal (see :func:`token_for`)."""
    return {"Authorization": f"Bearer {token_for(role, swv, **claims)}"}
