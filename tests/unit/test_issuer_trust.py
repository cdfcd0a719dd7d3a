"""Trusted issuers: the portal's tokens and a provider's client-credentials tokens side by side.

Each check runs against the dev OpenID provider on a thread of this process: its JWKS is
found through discovery, a token is checked against the rules of the issuer its ``iss``
names, and a machine client is what Passend's configuration says, never what its token
claims.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from passend_backbone.auth import CurrentPrincipal, Principal, Role, install_verifier
from passend_backbone.auth.keys import KeySet, KeysUnavailable
from passend_backbone.auth.tokens import InvalidToken, TokenVerifier, verifier_for
from passend_backbone.auth.trust import TrustedIssuer
from passend_backbone.settings import ServiceSettings
from passend_devstack.oidc_provider import (
    DevClient,
    DevUser,
    OidcProvider,
    machine_clients,
    trusted_issuer_entry,
)
from passend_devstack.test_tokens import AUDIENCE, ISSUER, issuer_key, token_for

# The provider's token says role "service"; Passend's configuration says operator.
SCRIPT = DevClient("beheer-script", "s3cret", claims={"role": "service", "swv": "swv-a"})
MUNICIPALITY = DevClient(
    "gemeente-x", "m3cret", claims={"role": "team_no_member", "swv": "swv-a", "region": "r-1"}
)
CLIENTS: dict[str, Any] = {
    "beheer-script": {"role": "operator", "swv": "swv-a", "actor": "script-of-the-operator"},
    "gemeente-x": {"role": "team_no_member", "swv": "swv-a", "region": "r-1"},
}


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[OidcProvider]:
    users = [DevUser("ib-marieke", "Marieke")]
    with OidcProvider(tmp_path / "op", users, [SCRIPT, MUNICIPALITY]) as op:
        yield op


def trust(provider: OidcProvider, **overrides: Any) -> TrustedIssuer:
    return TrustedIssuer.model_validate(
        {"issuer": provider.url, "audience": "passend", "clients": CLIENTS, **overrides}
    )


def verifier_trusting(provider: OidcProvider, keys: KeySet | None = None) -> TokenVerifier:
    entry = trust(provider)
    return TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=KeySet(str(issuer_key().jwks_path)),
        also=[entry],
        key_sets={provider.url: keys} if keys is not None else None,
    )


def client_credentials(provider: OidcProvider, client: DevClient) -> str:
    answer = httpx.post(
        f"{provider.url}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.secret or ""),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def test_a_machine_client_is_what_passend_configured_not_what_its_token_says(
    provider: OidcProvider,
) -> None:
    verifier = verifier_trusting(provider)
    script = verifier.verify(client_credentials(provider, SCRIPT))
    assert script == Principal("script-of-the-operator", Role.OPERATOR, "swv-a")
    municipality = verifier.verify(client_credentials(provider, MUNICIPALITY))
    assert municipality == Principal("gemeente-x", Role.TEAM_NO_MEMBER, "swv-a", region="r-1")


def test_the_portals_tokens_are_accepted_beside_the_providers(provider: OidcProvider) -> None:
    verifier = verifier_trusting(provider)
    assert verifier.issuers == (ISSUER, provider.url)
    person = verifier.verify(token_for(Role.IB, "swv-a", subject="ib-7", school_id="sch-1"))
    assert person == Principal("ib-7", Role.IB, "swv-a", school_id="sch-1")


def test_the_keys_come_from_discovery_and_are_cached(provider: OidcProvider) -> None:
    keys = KeySet.discovered(provider.url)
    verifier = verifier_trusting(provider, keys)
    verifier.verify(client_credentials(provider, SCRIPT))
    verifier.verify(client_credentials(provider, MUNICIPALITY))
    assert keys.fetches == 1


def test_a_token_of_an_untrusted_issuer_is_refused(provider: OidcProvider, tmp_path: Path) -> None:
    verifier = verifier_trusting(provider)
    with OidcProvider(tmp_path / "elsewhere", [], [SCRIPT]) as elsewhere:
        token = client_credentials(elsewhere, SCRIPT)
    with pytest.raises(InvalidToken, match="issuer is not trusted"):
        verifier.verify(token)
    # Claiming the trusted issuer's name doesn't help: the key is not in its JWKS.
    with OidcProvider(tmp_path / "impostor", [], [SCRIPT]) as impostor:
        forged = impostor.sign({**provider.machine_claims(SCRIPT.client_id)})
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_a_token_for_another_audience_is_refused(provider: OidcProvider) -> None:
    claims = {**provider.machine_claims(SCRIPT.client_id), "aud": "another-api"}
    with pytest.raises(InvalidToken, match=r"[Aa]udience"):
        verifier_trusting(provider).verify(provider.sign(claims))


def test_an_expired_token_is_refused(provider: OidcProvider) -> None:
    claims = provider.machine_claims(SCRIPT.client_id, lifetime_seconds=-3600)
    claims["iat"] -= 7200
    with pytest.raises(InvalidToken, match="expired"):
        verifier_trusting(provider).verify(provider.sign(claims))


def test_a_token_within_the_clock_skew_allowance_passes(provider: OidcProvider) -> None:
    claims = provider.machine_claims(SCRIPT.client_id, lifetime_seconds=-5)
    assert verifier_trusting(provider).verify(provider.sign(claims)).role is Role.OPERATOR


def test_an_unknown_kid_is_refused_after_one_rate_limited_refetch(
    provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = KeySet.discovered(provider.url)
    verifier = verifier_trusting(provider, keys)
    verifier.verify(client_credentials(provider, SCRIPT))
    assert keys.fetches == 1
    unknown = provider.sign(provider.machine_claims(SCRIPT.client_id), published=False)
    later = time.monotonic() + keys.min_refetch_seconds + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with pytest.raises(InvalidToken, match="kid"):
        verifier.verify(unknown)
    assert keys.fetches == 2  # looked again at once: it might have been a rotation
    for _ in range(5):
        again = provider.sign(provider.machine_claims(SCRIPT.client_id), published=False)
        with pytest.raises(InvalidToken, match="kid"):
            verifier.verify(again)
    assert keys.fetches == 2  # made-up key ids don't make Passend hammer the provider


def test_a_rotated_key_is_picked_up_without_a_restart(
    provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = KeySet.discovered(provider.url)
    verifier = verifier_trusting(provider, keys)
    verifier.verify(client_credentials(provider, SCRIPT))
    new_kid = provider.rotate()
    token = client_credentials(provider, MUNICIPALITY)
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    later = time.monotonic() + keys.min_refetch_seconds + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert verifier.verify(token).region == "r-1"
    assert keys.fetches == 2


def test_a_persons_token_of_the_provider_is_refused(provider: OidcProvider) -> None:
    """People reach the APIs through the portal, which asks the directory who they are."""
    claims = {
        **provider.machine_claims(SCRIPT.client_id),
        "sub": "ib-marieke",
        "role": "ib",
        "school_id": "sch-1",
    }
    with pytest.raises(InvalidToken, match="for a person"):
        verifier_trusting(provider).verify(provider.sign(claims))


def test_a_client_passend_does_not_know_is_refused(provider: OidcProvider) -> None:
    claims = {**provider.machine_claims(SCRIPT.client_id), "sub": "x", "client_id": "x"}
    with pytest.raises(InvalidToken, match="not known"):
        verifier_trusting(provider).verify(provider.sign(claims))
    claims = provider.machine_claims(SCRIPT.client_id)
    del claims["client_id"]
    with pytest.raises(InvalidToken, match="names no client"):
        verifier_trusting(provider).verify(provider.sign(claims))


def test_an_entra_style_token_names_the_client_in_azp(provider: OidcProvider) -> None:
    entry = trust(
        provider,
        audience="api://passend",
        clients={"app-1": {"subject": "object-9", "role": "operator", "swv": "swv-a"}},
    )
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=KeySet(str(issuer_key().jwks_path)), also=[entry]
    )
    now = int(time.time())
    claims = {"iss": provider.url, "aud": "api://passend", "iat": now, "exp": now + 60}
    token = provider.sign({**claims, "sub": "object-9", "azp": "app-1", "idtyp": "app"})
    assert verifier.verify(token) == Principal("app-1", Role.OPERATOR, "swv-a")
    person = provider.sign({**claims, "sub": "someone", "azp": "app-1"})
    with pytest.raises(InvalidToken, match="for a person"):
        verifier.verify(person)


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_an_algorithm_outside_the_allow_list_is_refused(
    provider: OidcProvider, algorithm: str
) -> None:
    # HS256 keyed with the provider's public JWK: the classic key-confusion forgery.
    public = provider.jwks["keys"][0]
    secret = public["n"].encode() if algorithm == "HS256" else None
    token = jwt.encode(
        provider.machine_claims(SCRIPT.client_id),
        secret,  # type: ignore[arg-type]
        algorithm=algorithm,
        headers={"kid": public["kid"]},
    )
    with pytest.raises(InvalidToken, match="algorithm"):
        verifier_trusting(provider).verify(token)


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["RS256", "HS512"], []])
def test_only_public_key_algorithms_can_be_configured(algorithms: list[str]) -> None:
    with pytest.raises(ValidationError, match="algorithms"):
        TrustedIssuer(issuer="https://idp.example", algorithms=tuple(algorithms))


def test_a_discovery_document_of_another_issuer_is_not_trusted(provider: OidcProvider) -> None:
    keys = KeySet.discovered(provider.url + "/elders")  # its document names provider.url
    with pytest.raises(KeysUnavailable):
        keys.key("any")


def test_the_api_answers_401_for_a_bad_token_and_503_without_keys(
    provider: OidcProvider, tmp_path: Path
) -> None:
    app = FastAPI()
    install_verifier(app.state, verifier_trusting(provider))

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.subject, "role": principal.role}

    client = TestClient(app)
    good = client.get("/me", headers=bearer(client_credentials(provider, MUNICIPALITY)))
    assert good.json() == {"sub": "gemeente-x", "role": "team_no_member"}
    expired = provider.machine_claims(SCRIPT.client_id, lifetime_seconds=-3600)
    expired["iat"] -= 7200
    for bad in (
        provider.sign({**provider.machine_claims(SCRIPT.client_id), "aud": "other"}),
        provider.sign(expired),
        provider.sign(provider.machine_claims(SCRIPT.client_id), published=False),
    ):
        answer = client.get("/me", headers=bearer(bad))
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")

    # A provider whose keys were never fetched and that does not answer: 503, not 401.
    with OidcProvider(tmp_path / "down", [], [SCRIPT]) as down:
        token = client_credentials(down, SCRIPT)
        down_url = down.url
    offline = FastAPI()
    entry = TrustedIssuer.model_validate({"issuer": down_url, "clients": CLIENTS})
    install_verifier(
        offline.state,
        TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, keys=KeySet(str(issuer_key().jwks_path)), also=[entry]
        ),
    )
    offline.get("/me")(me)
    answer = TestClient(offline).get("/me", headers=bearer(token))
    assert answer.status_code == 503


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_setting_takes_a_json_list_and_names_the_variable_when_wrong(
    monkeypatch: pytest.MonkeyPatch, provider: OidcProvider
) -> None:
    entry = trusted_issuer_entry(provider.url, [SCRIPT])
    monkeypatch.setenv("AUTH_TRUSTED_ISSUERS", __import__("json").dumps([entry]))
    settings = ServiceSettings(
        database_url="postgresql://x/y", kafka_bootstrap_servers="k:9092", auth_jwks="f"
    )
    [trusted] = settings.auth_trusted_issuers
    assert trusted.issuer == provider.url and trusted.clients["beheer-script"].role is Role.SERVICE
    verifier = verifier_for(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=str(issuer_key().jwks_path),
        trusted=settings.auth_trusted_issuers,
    )
    assert verifier.verify(client_credentials(provider, SCRIPT)).role is Role.SERVICE
    monkeypatch.setenv("AUTH_TRUSTED_ISSUERS", '[{"issuer": "x", "algorithms": ["HS256"]}]')
    with pytest.raises(ValidationError, match="auth_trusted_issuers"):
        ServiceSettings(
            database_url="postgresql://x/y", kafka_bootstrap_servers="k:9092", auth_jwks="f"
        )


def test_the_dev_machine_clients_are_registered_and_trusted_as_configured() -> None:
    clients = {c.client_id: c for c in machine_clients()}
    assert clients["gemeente-vlaardingen"].claims == {
        "role": "team_no_member",
        "swv": "swv-waterweg",
        "region": "waterweg",
    }
    assert clients["beheer-script"].claims["role"] == "operator"
    entry = TrustedIssuer.model_validate(trusted_issuer_entry("http://op", clients.values()))
    assert entry.kind == "clients" and set(entry.clients) == set(clients)


def test_an_issuer_of_passend_claims_lists_no_clients() -> None:
    with pytest.raises(ValidationError, match="kind passend"):
        TrustedIssuer.model_validate(
            {"issuer": "https://portal.example", "kind": "passend", "clients": CLIENTS}
        )
