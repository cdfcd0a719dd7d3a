"""OpenID Connect sign-in against the dev provider over HTTP: the whole flow, and every way
it must refuse (issue 18)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from passend_backbone.auth.keys import KeySet
from passend_backbone.auth.principal import Role
from passend_backbone.auth.tokens import TokenVerifier
from passend_devstack.oidc_provider import STRANGER, TAMPERINGS, OidcProvider
from passend_devstack.test_tokens import AUDIENCE, ISSUER, issuer_key
from passend_portal.session import COOKIE, encode, read
from passend_portal.signin_oidc import TRANSACTION_COOKIE, decode_transaction
from tests.portal.fakes import SECRET, FakeServices
from tests.portal.oidc_flow import (
    CLIENT_ID,
    MACHINE,
    PORTAL,
    Browser,
    browser_for,
    closed_port_url,
    oidc_settings,
    provider_for,
    query_of,
    with_directory,
)

UNKNOWN_TEXT = "U bent aangemeld, maar nog niet bekend bij het samenwerkingsverband"


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[OidcProvider]:
    with provider_for(tmp_path / "op") as running:
        yield running


@pytest.fixture
def directory() -> FakeServices:
    fake = FakeServices()
    with_directory(fake)
    return fake


@pytest.fixture
async def browser(provider: OidcProvider, directory: FakeServices) -> AsyncIterator[Browser]:
    async with browser_for(oidc_settings(provider.url), directory) as b:
        yield b


def services_verifier() -> TokenVerifier:
    """What every service checks a bearer token with (the test issuer's JWKS)."""
    keys = KeySet(str(issuer_key().jwks_path))
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys)


def session_cookie(browser: Browser) -> str | None:
    return browser.portal.cookies.get(COOKIE)


@pytest.mark.parametrize(
    ("login", "role", "home", "claims"),
    [
        ("ib-marieke", Role.IB, "/school", {"school_id": "brin-11aa"}),
        ("ow-anouk", Role.SUPPORT_WORKER, "/werk", {"work_unit_id": "wu-vlaardingen"}),
        ("os-marleen", Role.EDUCATION_SPECIALIST, "/werk", {}),
        ("tno-waterweg", Role.TEAM_NO_MEMBER, "/team-no", {"region": "waterweg"}),
        ("auditor-1", Role.AUDITOR, "/audit", {}),
        ("co-henk", Role.COORDINATOR, "/overzicht", {"work_unit_id": "wu-vlaardingen"}),
    ],
)
async def test_each_role_signs_in_through_the_provider_as_the_directory_knows_them(
    browser: Browser,
    directory: FakeServices,
    login: str,
    role: Role,
    home: str,
    claims: dict[str, str],
) -> None:
    page = await browser.portal.get("/aanmelden")
    assert "Aanmelden via de inlogdienst" in page.text
    assert 'name="persona"' not in page.text, "no persona picker when a provider is set"

    done = await browser.sign_in(login)
    assert done.status_code == 303
    assert done.headers["location"] == home
    set_cookie = ";".join(done.headers.get_list("set-cookie")).lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie

    session = read(session_cookie(browser), SECRET)
    assert session is not None
    assert (session.subject, session.role, session.swv) == (login, role.value, "swv-waterweg")
    assert session.display_name and session.display_name != login
    # The services take the portal's token, with the directory's claims.
    principal = services_verifier().verify(session.token)
    assert (principal.subject, principal.role, principal.swv) == (login, role, "swv-waterweg")
    for name, value in claims.items():
        assert getattr(principal, name) == value
    # The directory was asked as the portal itself, never with the person's claims.
    (lookup,) = [c for c in directory.calls if c[2] == f"/directory/people/{login}"]
    asker = services_verifier().verify(lookup[4]["authorization"].removeprefix("Bearer "))
    assert asker.role == Role.SERVICE


async def test_the_authorization_request_carries_state_nonce_and_a_pkce_challenge(
    browser: Browser,
) -> None:
    start = await browser.portal.get("/aanmelden/start")
    params = query_of(start.headers["location"])
    transaction = decode_transaction(browser.portal.cookies.get(TRANSACTION_COOKIE), SECRET)
    assert transaction is not None
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["state"] == transaction.state and len(transaction.state) >= 32
    assert params["nonce"] == transaction.nonce and transaction.nonce != transaction.state
    assert params["code_challenge_method"] == "S256"
    digest = hashlib.sha256(transaction.code_verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert transaction.code_verifier not in start.headers["location"]


async def test_the_provider_refuses_a_code_without_the_right_verifier(
    browser: Browser, provider: OidcProvider
) -> None:
    back = await browser.choose(await browser.to_provider(), "ib-marieke")
    code = query_of(back.headers["location"])["code"]
    refused = await browser.provider.post(
        f"{provider.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{PORTAL}/aanmelden/terug",
            "code_verifier": "x" * 64,
        },
        auth=(CLIENT_ID, "dev-client-secret"),
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


async def test_a_wrong_state_is_refused_without_a_session(browser: Browser) -> None:
    back = await browser.choose(await browser.to_provider(), "ib-marieke")
    location = back.headers["location"].replace("state=", "state=x")
    answer = await browser.get(location)
    assert answer.status_code == 400
    assert "hoort niet bij deze browser" in answer.text
    assert "Opnieuw aanmelden" in answer.text
    assert session_cookie(browser) is None


async def test_a_replayed_callback_is_refused(
    browser: Browser, provider: OidcProvider, directory: FakeServices
) -> None:
    back = await browser.choose(await browser.to_provider(), "ib-marieke")
    callback = back.headers["location"]
    first = await browser.get(callback)
    assert first.status_code == 303
    browser.portal.cookies.clear()
    # Replayed in the same browser (its transaction is used up) and in another one.
    again = await browser.get(callback)
    assert again.status_code == 400 and session_cookie(browser) is None
    async with browser_for(oidc_settings(provider.url), directory) as other:
        stolen = await other.get(callback)
        assert stolen.status_code == 400
        assert session_cookie(other) is None


@pytest.mark.parametrize("tampering", TAMPERINGS)
async def test_a_tampered_or_foreign_id_token_is_refused(
    browser: Browser, provider: OidcProvider, tampering: str
) -> None:
    back = await browser.choose(await browser.to_provider(), "ow-anouk")
    provider.tamper = tampering
    answer = await browser.get(back.headers["location"])
    assert answer.status_code == 400
    assert "niet vertrouwt" in answer.text
    assert session_cookie(browser) is None


async def test_an_expired_code_is_refused(browser: Browser, provider: OidcProvider) -> None:
    provider.code_seconds = -1
    answer = await browser.sign_in("ib-marieke")
    assert answer.status_code == 400
    assert "niet bevestigd" in answer.text
    assert session_cookie(browser) is None


async def test_a_provider_that_is_down_gets_a_dutch_page(directory: FakeServices) -> None:
    async with browser_for(oidc_settings(closed_port_url()), directory) as b:
        answer = await b.portal.get("/aanmelden/start")
        assert answer.status_code == 503
        assert "inlogdienst is nu niet bereikbaar" in answer.text
        assert "Opnieuw aanmelden" in answer.text
        assert session_cookie(b) is None


async def test_a_rotated_provider_key_is_fetched_and_trusted(
    browser: Browser, provider: OidcProvider
) -> None:
    assert (await browser.sign_in("ib-marieke")).status_code == 303
    browser.portal.cookies.clear()
    new_kid = provider.rotate()
    back = await browser.to_provider()  # still signed in at the provider: straight back
    assert back.status_code == 303
    answer = await browser.get(back.headers["location"])
    assert answer.status_code == 303, answer.text
    session = read(session_cookie(browser), SECRET)
    assert session is not None and jwt.get_unverified_header(session.id_token or "")["kid"] == (
        new_kid
    )


async def test_a_due_session_is_refreshed_at_the_provider(browser: Browser) -> None:
    await browser.sign_in("ib-marieke")
    session = read(session_cookie(browser), SECRET)
    assert session is not None
    due = dataclasses.replace(session, refresh_at=time.time() - 1)
    browser.set_session(encode(due, SECRET))
    answer = await browser.portal.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/school"
    renewed = read(session_cookie(browser), SECRET)
    assert renewed is not None
    assert renewed.refresh_at > time.time()
    assert renewed.refresh_token != session.refresh_token, "the provider rotated it"
    assert renewed.started == session.started, "the maximum age counts from signing in"
    assert services_verifier().verify(renewed.token).subject == "ib-marieke"


async def test_a_session_that_cannot_be_refreshed_is_sent_to_sign_in(
    browser: Browser, provider: OidcProvider
) -> None:
    await browser.sign_in("ib-marieke")
    session = read(session_cookie(browser), SECRET)
    assert session is not None
    provider.end_session(next(iter(provider.sessions)))  # signed out elsewhere
    # Its services' token is spent too (past the grace a concurrent refresh gets).
    due = dataclasses.replace(session, refresh_at=time.time() - 45)
    browser.set_session(encode(due, SECRET))
    answer = await browser.portal.get("/school")
    assert answer.status_code == 303 and answer.headers["location"] == "/aanmelden"
    assert not session_cookie(browser)


async def test_two_pages_refreshing_one_session_at_once_both_go_on(browser: Browser) -> None:
    await browser.sign_in("ib-marieke")
    session = read(session_cookie(browser), SECRET)
    assert session is not None
    due = encode(dataclasses.replace(session, refresh_at=time.time() - 1), SECRET)
    browser.set_session(due)
    first = await browser.portal.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/school"
    # The second request still carries the old cookie: its refresh token was used up.
    browser.set_session(due)
    second = await browser.portal.get("/")
    assert second.status_code == 303 and second.headers["location"] == "/school"


async def test_an_idle_session_ends_with_a_clear_page_keeping_what_was_typed(
    browser: Browser,
) -> None:
    await browser.sign_in("ib-marieke")
    session = read(session_cookie(browser), SECRET)
    assert session is not None
    # The form was loaded while the session was alive.
    token = await browser.form_token()
    idle = dataclasses.replace(session, seen=time.time() - 31 * 60)
    browser.set_session(encode(idle, SECRET))
    answer = await browser.portal.get("/school")
    assert answer.status_code == 303 and answer.headers["location"] == "/aanmelden"
    page = await browser.portal.get("/aanmelden")
    assert "niet actief" in page.text
    typed = "Lees- en spellingsproblemen sinds groep 3, ondanks extra begeleiding."
    posted = await browser.portal.post(
        "/school/aanvraag",
        data={"concern": typed, "csrf_token": token},
        headers={"Referer": f"{PORTAL}/school/aanvraag"},
    )
    assert posted.status_code == 401
    assert typed in posted.text
    assert "/aanmelden?terug=/school/aanvraag" in posted.text


async def test_sign_out_ends_the_session_in_the_portal_and_at_the_provider(
    browser: Browser, provider: OidcProvider
) -> None:
    await browser.sign_in("co-henk")
    session = read(session_cookie(browser), SECRET)
    assert session is not None and provider.sessions
    out = await browser.portal.post("/afmelden", data={"csrf_token": await browser.form_token()})
    assert out.status_code == 303
    params = query_of(out.headers["location"])
    assert out.headers["location"].startswith(f"{provider.url}/end-session")
    assert params["id_token_hint"] == session.id_token
    assert params["post_logout_redirect_uri"] == f"{PORTAL}/afgemeld"
    assert not session_cookie(browser)
    page = await browser.follow(out)
    assert page.url.path == "/afgemeld" and "U bent afgemeld" in page.text
    assert provider.sessions == {}
    # Signing in again asks the provider who it is: no silent sign-in.
    chooser = await browser.to_provider()
    assert chooser.status_code == 200 and "kies wie zich aanmeldt" in chooser.text
    # The signed-out session's refresh token is dead too.
    refused = await browser.provider.post(
        f"{provider.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": session.refresh_token or ""},
        auth=(CLIENT_ID, "dev-client-secret"),
    )
    assert refused.status_code == 400


async def test_someone_unknown_to_the_directory_sees_that_and_nothing_else(
    browser: Browser, directory: FakeServices
) -> None:
    answer = await browser.sign_in(STRANGER.subject)
    assert answer.status_code == 403
    assert UNKNOWN_TEXT in answer.text
    assert "Hoofdmenu" not in answer.text and "Afmelden" not in answer.text
    assert session_cookie(browser) is None
    for path in ("/school", "/werk", "/team-no", "/audit", "/overzicht", "/"):
        page = await browser.portal.get(path)
        assert page.status_code == 303 and page.headers["location"] == "/aanmelden"
    asked = {c[2] for c in directory.calls}
    assert asked == {f"/directory/people/{STRANGER.subject}"}, "no case data was asked for"


async def test_someone_who_left_the_directory_is_unknown(
    browser: Browser, directory: FakeServices
) -> None:
    answer = dict(directory.routes[("GET", "assignment", "/directory/people/ow-bart")][1])  # type: ignore[index]
    directory.on(
        "GET", "assignment", "/directory/people/ow-bart", (200, {**answer, "active": False})
    )
    page = await browser.sign_in("ow-bart")
    assert page.status_code == 403 and UNKNOWN_TEXT in page.text


async def test_the_persona_picker_is_off_when_a_provider_is_set(browser: Browser) -> None:
    token = await browser.form_token()
    answer = await browser.portal.post("/aanmelden", data={"persona": "ib", "csrf_token": token})
    assert answer.status_code == 403
    assert session_cookie(browser) is None


async def test_the_portal_publishes_the_key_of_the_services_tokens(browser: Browser) -> None:
    keys = (await browser.portal.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == [issuer_key().kid]


async def test_a_machine_client_gets_a_token_by_client_credentials(
    provider: OidcProvider,
) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{provider.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(MACHINE.client_id, MACHINE.secret or ""),
        )
        assert answer.status_code == 200
        token = answer.json()["access_token"]
        jwks = (await http.get(f"{provider.url}/jwks")).json()
        wrong = await http.post(
            f"{provider.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(MACHINE.client_id, "wrong"),
        )
        assert wrong.status_code == 401
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="passend", issuer=provider.url)
    assert claims["role"] == "service" and claims["swv"] == "swv-waterweg"


async def test_a_teacher_signs_in_with_the_pupils_whose_requests_name_her(
    browser: Browser, directory: FakeServices
) -> None:
    """W16: the teacher stays involved and reads her pupils' cases. Which pupils are hers
    the requests say (the IB names the teacher); the portal asks intake at sign-in and at
    every renewal, so a request made since shows without signing in again."""
    asked: list[httpx.Request] = []
    pupils = [{"school_ref": "12345", "pupil_ref": "lln-0a1b2c3d4e5f"}]

    def hers(request: httpx.Request) -> tuple[int, dict[str, object]]:
        asked.append(request)
        return 200, {"pupils": list(pupils)}

    directory.on("GET", "intake", "/internal/schools/brin-11aa/pupils", hers)
    done = await browser.sign_in("lk-sanne")
    assert done.status_code == 303 and done.headers["location"] == "/klas"
    session = read(session_cookie(browser), SECRET)
    assert session is not None
    principal = services_verifier().verify(session.token)
    assert principal.role == Role.TEACHER and principal.pupil_refs == ("lln-0a1b2c3d4e5f",)
    (first,) = asked
    assert first.url.params.get("teacher") == "lk-sanne"
    assert (
        services_verifier().verify(first.headers["authorization"].removeprefix("Bearer ")).role
        == Role.SERVICE
    )

    # A request for another pupil names her; the renewed session carries both.
    pupils.append({"school_ref": "12346", "pupil_ref": "lln-9f8e7d6c5b4a"})
    due = dataclasses.replace(session, refresh_at=time.time() - 1)
    browser.set_session(encode(due, SECRET))
    answer = await browser.portal.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/klas"
    renewed = read(session_cookie(browser), SECRET)
    assert renewed is not None
    assert services_verifier().verify(renewed.token).pupil_refs == (
        "lln-0a1b2c3d4e5f",
        "lln-9f8e7d6c5b4a",
    )


async def test_a_teacher_is_not_signed_in_while_intake_is_away(
    browser: Browser, directory: FakeServices
) -> None:
    directory.down.add("intake")
    done = await browser.sign_in("lk-sanne")
    assert done.status_code == 503
    assert "Passend kan nu niet nagaan wie u bent" in done.text
    assert session_cookie(browser) is None
