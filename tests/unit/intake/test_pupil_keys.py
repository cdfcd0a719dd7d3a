"""The pupil's identity is sealed with AES-GCM under the pupil's key, bound to tenant and pupil."""

from __future__ import annotations

import base64
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passend_intake.pupil_keys import IdentityUnreadable, PupilKey, decrypt, encrypt
from tests.unit.intake.builders import identity


@pytest.fixture
def key() -> PupilKey:
    return PupilKey(uuid4(), AESGCM.generate_key(bit_length=256))


def test_sealed_identity_opens_with_its_key(key: PupilKey) -> None:
    sealed = encrypt(identity(), key, "swv-1", "pupil-1")
    assert sealed.key_id == str(key.key_id)
    assert decrypt(sealed, key, "swv-1", "pupil-1") == identity()


def test_the_ciphertext_holds_nothing_readable(key: PupilKey) -> None:
    sealed = encrypt(identity(), key, "swv-1", "pupil-1")
    raw = base64.b64decode(sealed.ciphertext)
    assert b"Sam" not in raw
    assert b"2016" not in raw
    assert "Sam" not in sealed.model_dump_json()


def test_every_sealing_uses_a_fresh_nonce(key: PupilKey) -> None:
    first = encrypt(identity(), key, "swv-1", "pupil-1")
    second = encrypt(identity(), key, "swv-1", "pupil-1")
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


@pytest.mark.parametrize(("swv", "pupil"), [("swv-2", "pupil-1"), ("swv-1", "pupil-2")])
def test_a_ciphertext_moved_to_another_pupil_does_not_open(
    key: PupilKey, swv: str, pupil: str
) -> None:
    sealed = encrypt(identity(), key, "swv-1", "pupil-1")
    with pytest.raises(IdentityUnreadable):
        decrypt(sealed, key, swv, pupil)


def test_another_key_does_not_open_it(key: PupilKey) -> None:
    sealed = encrypt(identity(), key, "swv-1", "pupil-1")
    other = PupilKey(key.key_id, AESGCM.generate_key(bit_length=256))
    with pytest.raises(IdentityUnreadable):
        decrypt(sealed, other, "swv-1", "pupil-1")
