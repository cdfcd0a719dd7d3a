"""Dev addresses of the SWV's functional mailboxes, registered with notifications at start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint

DEV_CONTACTS = Path(__file__).with_name("dev_contacts.yaml")
SUBJECT = "passend-dev"


@dataclass(frozen=True)
class DevContact:
    """One recipient id of one SWV and the address its messages go to."""

    swv: str
    recipient_id: str
    email: str
    display_name: str | None


def address(recipient_id: str, domain: str) -> str:
    """``team_no:waterweg`` at ``x.test`` -> ``team_no.waterweg@x.test``."""
    local = re.sub(r"[^A-Za-z0-9._-]+", ".", recipient_id).strip(".")
    return f"{local}@{domain}"


def load_dev_contacts(path: Path = DEV_CONTACTS) -> list[DevContact]:
    """The contacts in ``path``: ``swvs: {<swv>: {domain: ..., contacts: {id: name}}}``."""
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[DevContact] = []
    for swv, entry in (raw or {}).get("swvs", {}).items():
        domain = str(entry["domain"])
        for recipient_id, name in (entry.get("contacts") or {}).items():
            found.append(
                DevContact(
                    str(swv), str(recipient_id), address(str(recipient_id), domain), name or None
                )
            )
    return found


def register_contacts(
    notifications_url: str,
    contacts: list[DevContact],
    issuer: IssuerKey,
    *,
    issuer_name: str,
    audience: str,
) -> list[str]:
    """``PUT /contacts/{id}`` for each contact, as each SWV's operator; the problems met.

    A PUT sets the same address again on every start, so running this twice changes nothing.
    """
    problems: list[str] = []
    tokens: dict[str, str] = {}
    with httpx.Client(base_url=notifications_url, timeout=10) as http:
        for contact in contacts:
            if contact.swv not in tokens:
                operator = Principal(subject=SUBJECT, role=Role.OPERATOR, swv=contact.swv)
                tokens[contact.swv] = mint(issuer, operator, issuer=issuer_name, audience=audience)
            try:
                response = http.put(
                    f"/contacts/{contact.recipient_id}",
                    json={"email": contact.email, "display_name": contact.display_name},
                    headers={"Authorization": f"Bearer {tokens[contact.swv]}"},
                )
            except httpx.HTTPError as exc:
                problems.append(f"{contact.recipient_id}: {exc!r}")
                continue
            if response.status_code != 204:
                problems.append(
                    f"{contact.recipient_id}: HTTP {response.status_code} {response.text[:200]}"
                )
    return problems
