"""Keys and secrets at rest are sealed under rotatable key-encryption keys (issue 20)."""

from __future__ import annotations

import base64
import os

import pytest

from passend_backbone.sealing import KeyRing, NotOpened, SealingKeyMissing


def kek() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_sealed_value_opens_only_for_its_own_context() -> None:
    ring = KeyRing.parse(f"k1:{kek()}", setting="X")
    sealed = ring.seal(b"secret key bytes", "swv-1/pupil-1")
    assert b"secret key bytes" not in sealed
    assert ring.open(sealed, "swv-1/pupil-1") == b"secret key bytes"
    with pytest.raises(NotOpened):
        ring.open(sealed, "swv-1/pupil-2")  # copied onto another row
    with pytest.raises(NotOpened):
        ring.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), "swv-1/pupil-1")  # changed


def test_rotation_keeps_old_values_open_and_reseals_them_with_the_new_key() -> None:
    old, new = kek(), kek()
    before = KeyRing.parse(f"2026-06:{old}", setting="X")
    sealed = before.seal(b"k", "c")
    during = KeyRing.parse(f"2026-12:{new},2026-06:{old}", setting="X")
    assert during.current_id == "2026-12"
    assert during.open(sealed, "c") == b"k" and during.needs_reseal(sealed)
    resealed = during.seal(during.open(sealed, "c"), "c")
    assert not during.needs_reseal(resealed)
    after = KeyRing.parse(f"2026-12:{new}", setting="X")
    assert after.open(resealed, "c") == b"k"
    with pytest.raises(NotOpened, match="2026-06"):
        after.open(sealed, "c")  # the old KEK is gone: what it alone sealed stays shut


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "X is not set"),
        ("", "X is not set"),
        ("k1:not base64!", "base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"k1:{kek()},k1:{kek()}", "twice"),
        (f"bad id:{kek()}", "id"),
    ],
)
def test_a_missing_or_bad_key_names_the_setting(text: str | None, message: str) -> None:
    with pytest.raises(SealingKeyMissing, match=message):
        KeyRing.parse(text, setting="X")


def test_a_lone_key_has_id_1() -> None:
    assert KeyRing.parse(kek(), setting="X").current_id == "1"
