"""Who a signed-in person is in Passend: their directory entry, and the token the services take.

The identity provider says who someone is; the directory (assignment's people) says what
they are in Passend. The portal signs the services' token itself, with the claims of the
directory, never with what the provider claims about roles.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from passend_portal.web import HOME_OF_ROLE

# The portal's own caller id when it asks the directory who signed in.
PORTAL_SUBJECT = "passend-portal"


class TokenSigner:
    """The RSA key (PEM) whose tokens the services trust; its public half as a JWKS."""

    def __init__(
        self,
        pem_path: Path,
        *,
        issuer: str,
        audience: str,
        previous_pem_path: Path | None = None,
    ) -> None:
        self._key = _private_key(pem_path)
        public = _public_jwk(self._key.public_key())
        self.kid: str = public["kid"]
        # While a key is rotated out, its public half stays published until the tokens
        # it signed have expired (deploy/README.md, "Rotating the portal's keys").
        published = [public]
        if previous_pem_path is not None:
            published.append(_public_jwk(_private_key(previous_pem_path).public_key()))
        self.jwks: dict[str, Any] = {"keys": published}
        self.issuer = issuer
        self.audience = audience

    def mint(self, claims: dict[str, Any], lifetime_seconds: int) -> str:
        now = int(time.time())
        body = {
            **{k: v for k, v in claims.items() if v is not None},
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime_seconds,
        }
        return jwt.encode(body, self._key, algorithm="RS256", headers={"kid": self.kid})


def _private_key(pem_path: Path) -> rsa.RSAPrivateKey:
    loaded = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TypeError(f"{pem_path} does not hold an RSA private key")
    return loaded


def _public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public_key))
    # The same key id the dev issuer gives a key (passend_backbone.auth.keys).
    jwk.update({"kid": jwk["n"][:16], "use": "sig", "alg": "RS256"})
    return jwk


@dataclass(frozen=True)
class Person:
    """A person as the directory knows them: what the portal and the services go by."""

    person_id: str
    display_name: str
    role: str
    swv: str
    school_id: str | None
    work_unit_id: str | None
    region: str | None
    # A teacher's pupils, by intake's pseudonyms: the cases a teacher may read (W16).
    pupil_refs: tuple[str, ...] = ()

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": self.person_id,
            "role": self.role,
            "swv": self.swv,
            "school_id": self.school_id,
            "work_unit_id": self.work_unit_id,
            "region": self.region,
            "name": self.display_name,
        }
        if self.pupil_refs:
            claims["pupil_refs"] = list(self.pupil_refs)
        return claims


class DirectoryUnavailable(Exception):
    """The directory did not answer: nobody can be signed in until it does."""


async def person_in_directory(
    http: httpx.AsyncClient,
    assignment_url: str,
    signer: TokenSigner,
    swv: str,
    subject: str,
    *,
    intake_url: str | None = None,
) -> Person | None:
    """The active person ``subject`` of ``swv``'s directory with a role the portal serves,
    or None when the directory does not know them (or they left). A teacher comes with
    the pupils whose latest request names them as teacher (asked of intake at
    ``intake_url``): read at every sign-in and every renewal of the session."""
    token = signer.mint({"sub": PORTAL_SUBJECT, "role": "service", "swv": swv}, 60)
    try:
        answer = await http.get(
            f"{assignment_url}/directory/people/{quote(subject, safe='')}",
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        raise DirectoryUnavailable(type(exc).__name__) from exc
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise DirectoryUnavailable(f"status {answer.status_code}")
    entry: dict[str, Any] = answer.json()
    if not entry.get("active", False):
        return None
    # One role per session: the first the portal has pages for.
    role = next((r for r in entry.get("roles", []) if r in HOME_OF_ROLE), None)
    if role is None:
        return None
    person = Person(
        person_id=str(entry["person_id"]),
        display_name=str(entry["display_name"]),
        role=role,
        swv=swv,
        school_id=entry.get("school_id"),
        work_unit_id=entry.get("work_unit_id"),
        region=entry.get("region"),
    )
    if role != "teacher" or person.school_id is None or intake_url is None:
        return person
    try:
        pupils = await http.get(
            f"{intake_url}/internal/schools/{quote(person.school_id, safe='')}/pupils",
            params={"teacher": person.person_id},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        raise DirectoryUnavailable(type(exc).__name__) from exc
    if pupils.status_code != 200:
        raise DirectoryUnavailable(f"intake answered {pupils.status_code}")
    named = tuple(sorted(str(p["pupil_ref"]) for p in pupils.json()["pupils"]))
    return replace(person, pupil_refs=named)
