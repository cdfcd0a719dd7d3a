"""CSRF protection (issue 18): every form carries a token bound to its session (or to a
parent's link, or to this browser before sign-in); a POST without it, or with another's,
is refused with a Dutch page and changes nothing."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from passend_devstack.test_tokens import issuer_key
from passend_portal import csrf
from passend_portal.app import create_app
from passend_portal.session import COOKIE, encode, read
from tests.portal.fakes import (
    CASE,
    IB,
    REQUEST_DETAIL,
    SECRET,
    WORKER,
    FakeServices,
    cookie,
    csrf_token,
    settings,
    with_token,
)

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REFUSED = "Dit formulier is niet verstuurd"
LINK = "k" * 43


def posts(fake: FakeServices) -> list[tuple[str, str]]:
    return [(c[1], c[2]) for c in fake.calls if c[0] == "POST"]


def token_in(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def withdrawal(fake: FakeServices) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    fake.on("POST", "intake", f"/requests/{CASE}/withdrawal", (200, {"version": 4}))


async def test_every_post_form_on_a_page_carries_the_sessions_token(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "intake", f"/requests/{CASE}", (200, REQUEST_DETAIL))
    me = cookie(**IB)
    page = (await portal.get(f"/zaken/{CASE}", cookies=me)).text
    forms = re.findall(r'<form method="post"[^>]*>(.{0,200})', page)
    assert len(forms) >= 3, "the IB's case page has several forms (and sign-out)"
    expected = csrf_token(me)
    for start in forms:
        assert f'name="csrf_token" value="{expected}"' in start
    assert f'"X-CSRF-Token": "{expected}"' in page, "htmx sends it as a header"


@pytest.mark.parametrize("token", [None, "", "0" * 64])
async def test_a_post_without_the_right_token_is_refused_and_changes_nothing(
    portal: httpx.AsyncClient, fake: FakeServices, token: str | None
) -> None:
    withdrawal(fake)
    body = "intrekken.reason=Ouders+verhuizen"
    if token is not None:
        body += f"&csrf_token={token}"
    answer = await portal.post(
        f"/zaken/{CASE}/intrekken", content=body, headers=FORM, cookies=cookie(**IB)
    )
    assert answer.status_code == 403
    assert REFUSED in answer.text and "Er is niets veranderd" in answer.text
    assert '<html lang="nl">' in answer.text
    assert posts(fake) == [], "no service heard of it"


async def test_with_the_token_the_same_post_works(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    withdrawal(fake)
    me = cookie(**IB)
    answer = await portal.post(
        f"/zaken/{CASE}/intrekken",
        content=with_token("intrekken.reason=Ouders+verhuizen", me),
        headers=FORM,
        cookies=me,
    )
    assert answer.status_code == 303
    assert posts(fake) == [("intake", f"/requests/{CASE}/withdrawal")]
    posted = next(c for c in fake.calls if c[0] == "POST")
    assert "csrf_token" not in str(posted[3]), "the token stays in the portal"


async def test_the_token_of_another_session_is_refused(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    withdrawal(fake)
    me = cookie(**IB)
    session = read(me[COOKIE], SECRET)
    assert session is not None
    # The same person signed in again: the old page's forms no longer count.
    again = {COOKIE: encode(dataclasses.replace(session, started=session.started + 1), SECRET)}
    answer = await portal.post(
        f"/zaken/{CASE}/intrekken",
        content=with_token("intrekken.reason=Ouders+verhuizen", me),
        headers=FORM,
        cookies=again,
    )
    assert answer.status_code == 403 and posts(fake) == []
    # Another person's token neither.
    worker = cookie(**WORKER)
    answer = await portal.post(
        f"/zaken/{CASE}/oppakken", content=with_token("key=k", me), headers=FORM, cookies=worker
    )
    assert answer.status_code == 403 and posts(fake) == []


async def test_htmx_sends_the_token_as_a_header(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    withdrawal(fake)
    me = cookie(**IB)
    answer = await portal.post(
        f"/zaken/{CASE}/intrekken",
        content="intrekken.reason=Ouders+verhuizen",
        headers={**FORM, "HX-Request": "true", csrf.HEADER: csrf_token(me)},
        cookies=me,
    )
    assert answer.status_code == 303
    assert posts(fake) == [("intake", f"/requests/{CASE}/withdrawal")]


async def test_sign_out_needs_the_token_too(portal: httpx.AsyncClient) -> None:
    me = cookie(**IB)
    refused = await portal.post("/afmelden", cookies=me)
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    out = await portal.post("/afmelden", content=with_token("", me), headers=FORM, cookies=me)
    assert out.status_code == 303 and f'{COOKIE}=""' in out.headers["set-cookie"]


async def test_a_parents_answer_needs_the_token_of_its_own_link_W10(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "GET",
        "intake",
        f"/consent/{LINK}",
        (200, {"state": "open", "expires_at": "2026-09-21T08:35:00Z", "question": "?"}),
    )
    fake.on("POST", "intake", f"/consent/{LINK}/confirm", (201, {"case_id": CASE}))
    page = await portal.get(f"/toestemming/{LINK}")
    assert token_in(page.text) == csrf_token(link=LINK)
    assert "set-cookie" not in page.headers, "a parent's page sets no cookie"
    other = await portal.post(
        f"/toestemming/{LINK}", content=with_token("antwoord=ja", link="x" * 43), headers=FORM
    )
    missing = await portal.post(f"/toestemming/{LINK}", content="antwoord=ja", headers=FORM)
    assert other.status_code == missing.status_code == 403 and posts(fake) == []
    answer = await portal.post(
        f"/toestemming/{LINK}", content=with_token("antwoord=ja", link=LINK), headers=FORM
    )
    assert answer.status_code == 200 and posts(fake) == [("intake", f"/consent/{LINK}/confirm")]


@pytest.fixture
async def dev_portal() -> AsyncIterator[httpx.AsyncClient]:
    """The portal with the persona picker (the dev issuer, no provider)."""
    app = create_app(settings(issuer_key().pem_path.parent))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def test_signing_in_before_a_session_is_bound_to_this_browser(
    dev_portal: httpx.AsyncClient,
) -> None:
    page = await dev_portal.get("/aanmelden")
    token = token_in(page.text)
    assert csrf.BROWSER_COOKIE in dev_portal.cookies
    # Another site can't sign this browser in as someone else (login CSRF).
    forged = await dev_portal.post("/aanmelden", data={"persona": "ib"})
    assert forged.status_code == 403 and COOKIE not in dev_portal.cookies
    # The token of this browser's page is no good in another browser.
    mine = dev_portal.cookies[csrf.BROWSER_COOKIE]
    dev_portal.cookies.set(csrf.BROWSER_COOKIE, "another-browser", domain="portal.test")
    elsewhere = await dev_portal.post("/aanmelden", data={"persona": "ib", "csrf_token": token})
    assert elsewhere.status_code == 403 and COOKIE not in dev_portal.cookies
    dev_portal.cookies.set(csrf.BROWSER_COOKIE, mine, domain="portal.test")
    signed_in = await dev_portal.post("/aanmelden", data={"persona": "ib", "csrf_token": token})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/school"
    # From now on the forms carry the session's token.
    session = read(signed_in.cookies[COOKIE], SECRET)
    assert session is not None
    home = await dev_portal.get("/afgemeld")
    assert csrf.session_token(session, SECRET) in home.text
