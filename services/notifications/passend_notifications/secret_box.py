"""Webhook secrets at rest: sealed under the key-encryption keys of the environment.

The database holds only sealed secrets; the keys (``NOTIFICATIONS_WEBHOOK_SECRET_KEY``:
one base64 key, or ``<id>:<base64>,...`` newest first during a rotation) are never in it,
so a copy of the database or a backup gives no one the power to sign a delivery. Each
sealed secret is bound to its SWV and subscription: a sealed value copied onto another
subscription does not open. The sealing itself is the backbone's
(:mod:`passend_backbone.sealing`), as for intake's pupil keys.
"""

from __future__ import annotations

from pydantic import SecretStr

from passend_backbone.sealing import KeyRing, NotOpened

SETTING = "NOTIFICATIONS_WEBHOOK_SECRET_KEY"


class SecretNotOpened(Exception):
    """The sealed secret does not open with these keys (another key, or it was changed)."""


def key_ring(value: SecretStr) -> KeyRing:
    """The key-encryption keys of the setting; ``ValueError`` naming it when malformed."""
    return KeyRing.parse(value.get_secret_value(), setting=SETTING)


class SecretBox:
    """Seals and opens webhook secrets with the key-encryption keys."""

    def __init__(self, ring: KeyRing | bytes) -> None:
        self._ring = ring if isinstance(ring, KeyRing) else KeyRing([("1", ring)])

    def seal(self, secret: str, context: str) -> bytes:
        """``secret`` sealed for ``context`` (``<swv>/<subscription id>``)."""
        return self._ring.seal(secret.encode(), context)

    def open(self, sealed: bytes, context: str) -> str:
        """The secret; :class:`SecretNotOpened` for another key, context or a changed value."""
        try:
            return self._ring.open(sealed, context).decode()
        except NotOpened as exc:
            raise SecretNotOpened(
                f"the webhook secret does not open with {SETTING} ({exc}; another key than "
                "the one it was sealed with?)"
            ) from None


def context_of(swv: str, subscription_id: object) -> str:
    """What a subscription's secrets are bound to."""
    return f"{swv}/{subscription_id}"
