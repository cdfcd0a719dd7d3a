"""A teacher's token names the pupils by intake's pseudonym (issue 20).

The dev persona lists the teacher's pupils by the school's references; cases name pupils by
intake's pseudonyms only, so signing in asks intake which pseudonyms those references
stand for (as a service of the SWV) and the session's token carries those.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import jwt

from passend_devstack.test_tokens import issuer_key
from passend_portal.app import create_app
from passend_portal.personas import persona
from passend_portal.session import COOKIE, read
from tests.portal.fakes import SECRET, FakeServices, settings

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def sign_in_as_teacher(fake: FakeServices) -> httpx.Response:
    app = create_app(settings(issuer_key().pem_path.parent), transport=fake.transport())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        page = await client.get("/aanmelden")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        return await client.post(
            "/aanmelden", content=f"persona=lk&csrf_token={token.group(1)}", headers=FORM
        )


async def test_the_teachers_token_names_her_pupils_as_passend_does() -> None:
    sanne = persona("lk")
    assert sanne is not None and sanne.school_id is not None
    fake = FakeServices()
    path = f"/internal/schools/{sanne.school_id}/pupils"
    known = {"pupils": [{"school_ref": "leerling-043", "pupil_ref": "lln-0a1b2c3d4e5f"}]}
    fake.on("GET", "intake", path, (200, known))

    signed_in = await sign_in_as_teacher(fake)

    assert signed_in.status_code == 303, signed_in.text
    [(method, _, _, _, headers)] = [c for c in fake.calls if c[2] == path]
    asked: dict[str, Any] = jwt.decode(
        headers["authorization"].removeprefix("Bearer "), options={"verify_signature": False}
    )
    assert (method, asked["role"], asked["swv"]) == ("GET", "service", sanne.swv)
    session = read(signed_in.cookies[COOKIE], SECRET)
    assert session is not None
    claims = jwt.decode(session.token, options={"verify_signature": False})
    # Only the pupil intake knows, by its pseudonym; never the school's references.
    assert claims["pupil_refs"] == ["lln-0a1b2c3d4e5f"]


async def test_without_intake_the_teacher_is_told_in_dutch_and_not_signed_in() -> None:
    fake = FakeServices()
    fake.down.add("intake")

    answer = await sign_in_as_teacher(fake)

    assert answer.status_code == 503
    assert "Passend kan uw leerlingen nu niet opzoeken" in answer.text
    assert COOKIE not in answer.cookies
