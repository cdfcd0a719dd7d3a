"""Webhook secrets are sealed at rest with the key from the environment, bound to their
subscription; a wrong or missing key is said in words."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from passend_notifications.config import NotificationSettings
from passend_notifications.secret_box import SecretBox, SecretNotOpened, key_ring

KEY = b"k" * 32
SECRET = "gemeente-schiedam-" + "x" * 20


def test_a_sealed_secret_opens_with_its_key_and_context_only() -> None:
    box = SecretBox(KEY)
    sealed = box.seal(SECRET, "swv-a/sub-1")
    assert SECRET.encode() not in sealed, "the secret is not in what is stored"
    assert box.seal(SECRET, "swv-a/sub-1") != sealed, "a fresh nonce every time"
    assert box.open(sealed, "swv-a/sub-1") == SECRET
    with pytest.raises(SecretNotOpened):
        box.open(sealed, "swv-a/sub-2")  # copied onto another subscription
    with pytest.raises(SecretNotOpened, match="NOTIFICATIONS_WEBHOOK_SECRET_KEY"):
        SecretBox(b"o" * 32).open(sealed, "swv-a/sub-1")
    with pytest.raises(SecretNotOpened):
        box.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), "swv-a/sub-1")


def test_the_key_is_32_bytes_of_base64_standard_or_url_safe_and_may_rotate() -> None:
    standard = base64.b64encode(KEY).decode()
    box = SecretBox(key_ring(SecretStr(standard)))
    sealed = box.seal(SECRET, "swv-a/sub-1")
    url_safe = base64.urlsafe_b64encode(KEY).decode().rstrip("=")
    assert SecretBox(key_ring(SecretStr(url_safe))).open(sealed, "swv-a/sub-1") == SECRET
    # A rotation: the new key first seals, the old one (id 1) still opens what it sealed.
    rotating = key_ring(SecretStr(f"2:{base64.b64encode(b'n' * 32).decode()},1:{standard}"))
    assert SecretBox(rotating).open(sealed, "swv-a/sub-1") == SECRET
    with pytest.raises(ValueError, match="32 bytes"):
        key_ring(SecretStr(base64.b64encode(b"short").decode()))
    with pytest.raises(ValueError, match="base64"):
        key_ring(SecretStr("not base64 at all!"))


def test_settings_refuse_a_key_of_the_wrong_shape_and_work_without_one() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        NotificationSettings(webhook_secret_key=base64.b64encode(b"short").decode())
    assert NotificationSettings().secret_box is None
    key = base64.b64encode(KEY).decode()
    assert NotificationSettings(webhook_secret_key=key).secret_box is not None
