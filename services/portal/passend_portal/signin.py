"""Development sign-in without a provider: mint a token with the dev issuer's key for a
chosen persona.

Only when the dev issuer is configured and no OpenID provider is (``PORTAL_OIDC_ISSUER``);
everywhere else people sign in through OIDC (signin_oidc.py, docs/sign-in.md). The rest
of the portal only sees the session and its token.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from pathlib import Path

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint
from passend_portal.clients import Services
from passend_portal.identity import PORTAL_SUBJECT
from passend_portal.personas import Persona
from passend_portal.session import MAX_AGE_SECONDS, Session


class DevSignInDisabled(Exception):
    """``PORTAL_DEV_ISSUER_DIR`` is not set: this portal has no dev sign-in."""


@functools.cache
def _key(issuer_dir: Path) -> IssuerKey:
    # Loaded once: IssuerKey rewrites its JWKS file on every construction.
    return IssuerKey(issuer_dir)


async def with_pupils_as_passend_names_them(
    persona: Persona,
    services: Services,
    issuer_dir: Path | None,
    *,
    issuer: str,
    audience: str,
) -> Persona:
    """``persona`` with its pupils named by intake's pseudonyms (issue 20).

    A persona lists a teacher's pupils by the school's own references; cases name pupils
    by intake's pseudonyms, and so must the teacher's token. To those come the pupils
    whose latest request names the teacher (W16), as at a sign-in through the provider
    (:func:`passend_portal.identity.person_in_directory`). Pupils without a request yet
    (or erased) are left out: signing in again after a request picks them up.
    :class:`~passend_portal.clients.ServiceDown` when intake does not answer.
    """
    if persona.role != "teacher" or persona.school_id is None:
        return persona
    if issuer_dir is None:
        raise DevSignInDisabled
    service = Principal(subject=PORTAL_SUBJECT, role=Role.SERVICE, swv=persona.swv)
    token = mint(_key(issuer_dir), service, issuer=issuer, audience=audience, lifetime_seconds=60)
    answer = await services.get(
        "intake",
        f"/internal/schools/{persona.school_id}/pupils",
        token=token,
        params={"ref": list(persona.pupil_refs), "teacher": persona.subject},
    )
    named = {p["school_ref"]: p["pupil_ref"] for p in answer["pupils"]}
    listed = [named[r] for r in persona.pupil_refs if r in named]
    return replace(persona, pupil_refs=tuple(dict.fromkeys([*listed, *sorted(named.values())])))


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
