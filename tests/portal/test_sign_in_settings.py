"""Sign-in settings, cookies and return paths, without a provider (issue 18)."""

from __future__ import annotations

import time

import pytest

from passend_portal.app import create_app
from passend_portal.session import COOKIE_LIMIT, Session, decode, encode, encode_fitting, read
from passend_portal.settings import load_settings
from passend_portal.signin_oidc import safe_return_path

SECRET = b"s" * 32


def test_a_provider_is_configured_by_the_portal_oidc_variables() -> None:
    settings = load_settings(
        {
            "PORTAL_PUBLIC_URL": "https://passend.example-swv.nl",
            "PORTAL_OIDC_ISSUER": "https://login.example-swv.nl",
            "PORTAL_OIDC_CLIENT_ID": "portal",
            "PORTAL_OIDC_CLIENT_SECRET": "geheim",
            "PORTAL_OIDC_SCOPES": "openid email",
            "PORTAL_OIDC_SUBJECT_CLAIM": "oid",
            "PORTAL_DEV_ISSUER_DIR": "/tmp/issuer",
        }
    )
    oidc = settings.oidc
    assert oidc is not None
    assert (oidc.issuer, oidc.client_id, oidc.client_secret) == (
        "https://login.example-swv.nl",
        "portal",
        "geheim",
    )
    assert oidc.redirect_uri == "https://passend.example-swv.nl/aanmelden/terug"
    assert oidc.post_logout_redirect_uri == "https://passend.example-swv.nl/afgemeld"
    assert (oidc.scopes, oidc.subject_claim) == ("openid email", "oid")
    assert settings.secure_cookies, "Secure cookies on an https address"
    assert not settings.persona_picker, "no persona picker when a provider is configured"


def test_the_persona_picker_is_only_for_the_dev_issuer_without_a_provider() -> None:
    assert load_settings({"PORTAL_DEV_ISSUER_DIR": "/tmp/issuer"}).persona_picker
    assert not load_settings({}).persona_picker
    local = load_settings({"PORTAL_PUBLIC_URL": "http://127.0.0.1:8000"})
    assert not local.secure_cookies, "plain http on a laptop"
    assert load_settings({"PORTAL_SECURE_COOKIES": "true"}).secure_cookies


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/zaken/123", "/zaken/123"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
        ("", "/"),
    ],
)
def test_after_signing_in_only_a_path_of_the_portal_is_followed(
    asked: str | None, kept: str
) -> None:
    assert safe_return_path(asked) == kept


def session(**changes: object) -> Session:
    values: dict[str, object] = {
        "token": "t",
        "subject": "ib-marieke",
        "role": "ib",
        "swv": "swv-waterweg",
        "started": time.time(),
        "seen": time.time(),
    }
    values.update(changes)
    return Session(**values)  # type: ignore[arg-type]


def test_an_idle_session_has_ended_but_is_still_recognised_as_one() -> None:
    idle = encode(session(seen=time.time() - 31 * 60), SECRET)
    assert decode(idle, SECRET) is None
    assert read(idle, SECRET) is not None, "so the page can say the session ended"
    assert decode(idle, SECRET, idle_seconds=60 * 60) is not None


def test_a_cookie_too_big_for_a_browser_leaves_the_id_token_out() -> None:
    big = session(id_token="x" * 4000, refresh_token="r" * 200)
    value = encode_fitting(big, SECRET)
    assert len(value) <= COOKIE_LIMIT
    kept = read(value, SECRET)
    assert kept is not None and kept.id_token is None and kept.refresh_token == "r" * 200
    small = session(id_token="x" * 100)
    assert read(encode_fitting(small, SECRET), SECRET) == small


def test_a_portal_with_a_provider_but_no_signing_key_does_not_start() -> None:
    settings = load_settings({"PORTAL_OIDC_ISSUER": "https://login.example-swv.nl"})
    with pytest.raises(RuntimeError, match="PORTAL_TOKEN_KEY_FILE"):
        create_app(settings)
