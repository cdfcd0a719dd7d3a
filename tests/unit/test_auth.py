"""Bearer tokens: only a token signed by the issuer, for our audience, unexpired, is accepted."""

import json
import time

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from passend_backbone.auth import CurrentPrincipal, Principal, Role, TokenVerifier, install_verifier
from passend_backbone.auth.keys import IssuerKey, KeySet
from passend_backbone.auth.tokens import InvalidToken, mint
from passend_devstack.test_tokens import AUDIENCE, ISSUER, issuer_key, token_for


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=KeySet(str(issuer_key().jwks_path)))


def test_valid_token_gives_the_principal(verifier: TokenVerifier) -> None:
    token = token_for(Role.IB, "swv-1", subject="ib-7", school_id="school-3")
    assert verifier.verify(token) == Principal(
        subject="ib-7", role=Role.IB, swv="swv-1", school_id="school-3"
    )


def test_expired_token_is_refused(verifier: TokenVerifier) -> None:
    token = mint(
        issuer_key(),
        Principal("ib-7", Role.IB, "swv-1"),
        issuer=ISSUER,
        audience=AUDIENCE,
        lifetime_seconds=-10,
    )
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


@pytest.mark.parametrize(("issuer", "audience"), [("someone-else", AUDIENCE), (ISSUER, "other")])
def test_wrong_issuer_or_audience_is_refused(
    verifier: TokenVerifier, issuer: str, audience: str
) -> None:
    token = mint(issuer_key(), Principal("x", Role.IB, "swv-1"), issuer=issuer, audience=audience)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_token_signed_by_another_key_is_refused(verifier: TokenVerifier, tmp_path) -> None:
    stranger = IssuerKey(tmp_path)
    stranger.kid = issuer_key().kid  # pretends to be the issuer's key
    token = mint(stranger, Principal("x", Role.IB, "swv-1"), issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(InvalidToken, match="Signature"):
        verifier.verify(token)


def test_unsigned_token_is_refused(verifier: TokenVerifier) -> None:
    claims: dict[str, object] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "role": "ib"}
    claims["swv"] = "s"
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 60}
    token = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_unknown_role_is_refused(verifier: TokenVerifier) -> None:
    key = issuer_key()
    claims: dict[str, object] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "swv": "s"}
    claims["role"] = "headmaster"
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 60}
    token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_jwks_file_is_a_public_key_set() -> None:
    document = json.loads(issuer_key().jwks_path.read_text())
    assert [k["kty"] for k in document["keys"]] == ["RSA"]
    assert "d" not in document["keys"][0]  # no private part published


def test_endpoint_answers_401_without_or_with_a_bad_token(verifier: TokenVerifier) -> None:
    app = FastAPI()
    install_verifier(app.state, verifier)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.subject, "role": principal.role}

    client = TestClient(app)
    assert client.get("/me").status_code == 401
    bad = client.get("/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    good = client.get(
        "/me", headers={"Authorization": f"Bearer {token_for('ib', 's', subject='a')}"}
    )
    assert good.json() == {"sub": "a", "role": "ib"}


def test_a_verified_token_is_remembered_until_it_expires(
    verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = mint(
        issuer_key(),
        Principal("ib-7", Role.IB, "swv-1"),
        issuer=ISSUER,
        audience=AUDIENCE,
        lifetime_seconds=30,
    )
    first = verifier.verify(token)
    calls: list[str] = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append("decode"))
    assert verifier.verify(token) == first
    assert calls == []  # answered from memory, no second signature check
    later = time.time() + 31
    monkeypatch.setattr(time, "time", lambda: later)

    def decode(*args: object, **kwargs: object) -> None:
        calls.append("decode")  # PyJWT reads its own clock: say what it would say then
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", decode)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)
    assert calls == ["decode"]  # past its expiry the token is checked in full again


def test_a_remembered_token_is_checked_again_when_the_key_set_is_due(
    verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_for(Role.IB, "swv-1", subject="ib-8")
    verifier.verify(token)
    later = time.time() + verifier.keys.refresh_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    checked: list[str] = []
    real_decode = jwt.decode

    def decode(*args: object, **kwargs: object) -> object:
        checked.append("decode")
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", decode)
    assert verifier.verify(token).subject == "ib-8"
    assert checked == ["decode"]


def test_a_changed_byte_of_a_remembered_token_is_refused(verifier: TokenVerifier) -> None:
    token = token_for(Role.IB, "swv-1", subject="ib-9")
    verifier.verify(token)
    head, body, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken):
        verifier.verify(f"{head}.{body}.{flipped}")
