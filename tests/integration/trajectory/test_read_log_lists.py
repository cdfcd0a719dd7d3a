"""Every case an agenda or a list shows is a logged read of that case (issue 20)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import post
from tests.integration.trajectory.kit import headers
from tests.integration.trajectory.regions import configure_region
from tests.integration.trajectory.test_api_read_models import opened

pytestmark = pytest.mark.integration


async def test_the_team_no_agenda_logs_a_read_of_every_case_on_it(
    service: Service, broker: Broker
) -> None:
    region = f"rijnmond-{uuid4().hex[:6]}"
    municipality = "GM0599"  # Rotterdam
    await configure_region(service, broker, region, [municipality])
    cases = [await opened(service) for _ in range(2)]
    for case_id in cases:
        body = {
            "escalation_id": str(uuid4()),
            "municipality": municipality,
            "reasons": ["waiting_list"],
            "draft_plan": "concept: ambulante hulp thuis",
        }
        await post(service.http, case_id, "escalations", body)
    member = headers("team_no_member", "tno-lijst", region=region)

    async def agenda() -> list[dict[str, Any]] | None:
        answer = await service.http.get(f"/regions/{region}/team-no-agenda", headers=member)
        assert answer.status_code == 200, answer.text
        listed: list[dict[str, Any]] = answer.json()["cases"]
        return listed if len(listed) == 2 else None

    await eventually(agenda, timeout=30, what="Team NO agenda")
    rows = await service.pool.fetch(
        "SELECT case_id, reader_role FROM case_reads "
        "WHERE reader = 'tno-lijst' AND view = 'trajectory.team_no_agenda'"
    )
    assert {r["case_id"] for r in rows} == {str(c) for c in cases}
    assert {r["reader_role"] for r in rows} == {"team_no_member"}
