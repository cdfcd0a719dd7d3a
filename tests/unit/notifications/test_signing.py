"""A webhook receiver can verify the signature and reject tampered or replayed deliveries."""

from __future__ import annotations

import hashlib
import hmac

from passend_notifications.domain.signing import sign, verify

SECRET = "s" * 32
BODY = b'{"type":"nl.passend.assignment.CaseClaimed.v1"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == f"v1={expected}"


def test_receiver_accepts_a_fresh_untampered_delivery() -> None:
    signature = sign(SECRET, 1_700_000_000, BODY)
    assert verify(SECRET, 1_700_000_000, BODY, signature, now=1_700_000_010)


def test_receiver_rejects_tampering_wrong_secret_and_replay() -> None:
    signature = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, 1_700_000_000, BODY + b" ", signature, now=1_700_000_000)
    assert not verify("x" * 32, 1_700_000_000, BODY, signature, now=1_700_000_000)
    assert not verify(SECRET, 1_700_000_001, BODY, signature, now=1_700_000_001)
    assert not verify(SECRET, 1_700_000_000, BODY, signature, now=1_700_000_000 + 301)
