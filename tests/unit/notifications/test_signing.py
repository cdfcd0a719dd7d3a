"""A webhook receiver verifies the signature and timestamp, and rejects tampered or replayed
deliveries; during a secret rotation a delivery carries two signatures, each verifying."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from passend_consumerkit.webhooks import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    signature,
    signature_header,
    verify,
)

SECRET = "s" * 32
NEW_SECRET = "n" * 32
BODY = b'{"type":"nl.passend.trajectory.EscalatedToTeamNO.v1"}'
MESSAGE = "0f6d6d0c-0000-4000-8000-000000000001"
AT = 1_700_000_000


def headers(*secrets: str, at: int = AT, message: str = MESSAGE) -> dict[str, str]:
    return {
        ID_HEADER: message,
        TIMESTAMP_HEADER: str(at),
        SIGNATURE_HEADER: signature_header(secrets, message, at, BODY),
    }


def test_signature_is_standard_webhooks_hmac_sha256_of_id_timestamp_body() -> None:
    mac = hmac.new(SECRET.encode(), f"{MESSAGE}.{AT}.".encode() + BODY, hashlib.sha256)
    assert signature(SECRET, MESSAGE, AT, BODY) == f"v1,{base64.b64encode(mac.digest()).decode()}"


def test_receiver_accepts_a_fresh_untampered_delivery_and_learns_its_id() -> None:
    assert verify(headers(SECRET), BODY, [SECRET], now=AT + 10) == MESSAGE
    shouting = {k.upper(): v for k, v in headers(SECRET).items()}
    assert verify(shouting, BODY, [SECRET], now=AT) == MESSAGE, "header names in any case"


def test_receiver_rejects_tampering_wrong_secret_other_id_and_replay() -> None:
    sent = headers(SECRET)
    for tampered in (
        lambda: verify(sent, BODY + b" ", [SECRET], now=AT),
        lambda: verify(sent, BODY, ["x" * 32], now=AT),
        lambda: verify({**sent, ID_HEADER: "another"}, BODY, [SECRET], now=AT),
        lambda: verify({**sent, TIMESTAMP_HEADER: str(AT + 1)}, BODY, [SECRET], now=AT),
        lambda: verify(sent, BODY, [SECRET], now=AT + 301),  # a replay, five minutes on
        lambda: verify(sent, BODY, [SECRET], now=AT - 301),  # from the future
        lambda: verify({ID_HEADER: MESSAGE}, BODY, [SECRET], now=AT),
        lambda: verify({**sent, TIMESTAMP_HEADER: "gisteren"}, BODY, [SECRET], now=AT),
    ):
        with pytest.raises(WebhookRejected):
            tampered()


def test_during_a_rotation_both_signatures_verify_after_it_only_the_new_one() -> None:
    during = headers(NEW_SECRET, SECRET)
    assert len(during[SIGNATURE_HEADER].split(" ")) == 2
    assert verify(during, BODY, [SECRET], now=AT) == MESSAGE, "a receiver not switched yet"
    assert verify(during, BODY, [NEW_SECRET], now=AT) == MESSAGE, "a receiver switched"
    after = headers(NEW_SECRET)
    assert verify(after, BODY, [NEW_SECRET], now=AT) == MESSAGE
    with pytest.raises(WebhookRejected):
        verify(after, BODY, [SECRET], now=AT)
