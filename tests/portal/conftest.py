"""Fixtures of the portal's unit tests: the app on faked services, a client per role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from passend_portal.app import create_app
from tests.portal.fakes import FakeServices, settings


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


@pytest.fixture
async def portal(fake: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(), transport=fake.transport())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client
