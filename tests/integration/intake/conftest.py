"""One running intake service per test module (tests use distinct cases and pupils)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from passend_devstack.infra import Broker, Database
from tests.integration.intake.kit import NOW, Intake, running_intake


@pytest.fixture(scope="module")
async def intake(database: Database, broker: Broker) -> AsyncIterator[Intake]:
    async with running_intake(database, broker) as service:
        yield service


@pytest.fixture
def service(intake: Intake) -> Intake:
    """The module's service with its clock back at the start of the test."""
    intake.clock.now = NOW
    return intake
