"""Development sign-in without a provider: mint a token with the dev issuer's key for a
chosen persona.

Only when the dev issuer is configured and no OpenID provider is (``PORTAL_OIDC_ISSUER``);
everywhere else people sign in through OIDC (signin_oidc.py, docs/sign-in.md). The rest
of the portal only sees the session and its token.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint
from passend_portal.personas import Persona
from passend_portal.session import MAX_AGE_SECONDS, Session


class DevSignInDisabled(Exception):
    """``PORTAL_DEV_ISSUER_DIR`` is not set: this portal has no dev sign-in."""


@functools.cache
def _key(issuer_dir: Path) -> IssuerKey:
    # Loaded once: IssuerKey rewrites its JWKS file on every construction.
    return IssuerKey(issuer_dir)


def session_for(
    persona: Persona, issuer_dir: Path | None, *, issuer: str, audience: str
) -> Session:
    """A session whose token the services accept as ``persona``."""
    if issuer_dir is None:
        raise DevSignInDisabled
    principal = Principal(
        subject=persona.subject,
        role=Role(persona.role),
        swv=persona.swv,
        school_id=persona.school_id,
        work_unit_id=persona.work_unit_id,
        region=persona.region,
        pupil_refs=persona.pupil_refs,
    )
    token = mint(
        _key(issuer_dir),
        principal,
        issuer=issuer,
        audience=audience,
        lifetime_seconds=MAX_AGE_SECONDS,
    )
    return Session(
        token=token,
        subject=persona.subject,
        role=persona.role,
        swv=persona.swv,
        school_id=persona.school_id,
        work_unit_id=persona.work_unit_id,
        region=persona.region,
        started=time.time(),
    )
