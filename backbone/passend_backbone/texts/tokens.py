"""The sealed form of one free text: ``sealed:v1:<base64url>``, opened only with its key.

The token carries the tenant (so the service that opens it knows whose key to look up, and
the key's row-level security applies), the key id and the AES-256-GCM box. The associated
data binds the box to its tenant and case: a token copied onto another case does not open.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
# A token in any text: JSON, HTML or CSV never split base64url characters.
TOKEN_PATTERN = re.compile(r"sealed:v1:[A-Za-z0-9_-]+")
_NONCE = 12
ERASED = "[gewist]"


class TokenUnreadable(ValueError):
    """Not a token, or a token that does not open with the key it names."""


@dataclass(frozen=True)
class Token:
    swv: str
    key_id: UUID
    nonce: bytes
    box: bytes


def _aad(swv: str, scope: str) -> bytes:
    return f"passend-text|{swv}|{scope}".encode()


def seal(plain: str, *, swv: str, scope: str, key_id: UUID, key: bytes) -> str:
    """``plain`` sealed with the case's key; a fresh nonce every time."""
    tenant = swv.encode()
    if len(tenant) > 255:
        raise ValueError("a tenant id longer than 255 bytes can't be sealed into a token")
    nonce = os.urandom(_NONCE)
    box = AESGCM(key).encrypt(nonce, plain.encode(), _aad(swv, scope))
    raw = bytes([len(tenant)]) + tenant + key_id.bytes + nonce + box
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def parse(token: str) -> Token:
    """The parts of ``token``; :class:`TokenUnreadable` when it is not one."""
    if not token.startswith(PREFIX):
        raise TokenUnreadable("not a sealed text")
    body = token[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        size = raw[0]
        swv = raw[1 : 1 + size].decode()
        rest = raw[1 + size :]
        if len(rest) < 16 + _NONCE + 16:
            raise ValueError("too short")
        return Token(swv, UUID(bytes=rest[:16]), rest[16 : 16 + _NONCE], rest[16 + _NONCE :])
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise TokenUnreadable(f"a damaged sealed text: {exc}") from None


def open_token(token: Token, *, scope: str, key: bytes) -> str:
    """The text; :class:`TokenUnreadable` when the box was changed or moved."""
    try:
        return AESGCM(key).decrypt(token.nonce, token.box, _aad(token.swv, scope)).decode()
    except (InvalidTag, ValueError) as exc:
        raise TokenUnreadable(f"sealed text under key {token.key_id} does not open") from exc
