"""The four services with the audit API, once per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from passend_devstack.infra import Broker, Database
from tests.integration.audit.kit import System, running_system


@pytest.fixture(scope="module")
async def system(
    database: Database, broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    async with running_system(database, broker, tmp_path_factory.mktemp("audit")) as running:
        yield running
