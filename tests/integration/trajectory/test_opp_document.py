"""The OPP as a structured document (issue 21, S): its parts are recorded, read back, kept
by a new OPP, and its evaluations are the ones the trajectory records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from passend_contracts.events.trajectory import OppRecorded
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.flows import IB_H, conversation, post, trajectory
from tests.integration.trajectory.kit import claimed, deliver

pytestmark = pytest.mark.integration

OPP: dict[str, Any] = {
    "starting_point": "Leest op AVI E4 in groep 6; rekent op niveau eind groep 4.",
    "expected_outflow": "Vmbo basisberoepsgerichte leerweg, met leerwegondersteuning.",
    "goals": [
        "Leest AVI M5 aan het eind van het schooljaar.",
        "  ",
        "Werkt 20 minuten zelfstandig.",
    ],
    "support": "Dagelijks tien minuten leesbegeleiding en een vaste werkplek.",
}


async def opened(service: Service) -> UUID:
    case_id = uuid4()
    await deliver(service.pool, service.store, claimed(case_id), clock=service.clock)
    await post(service.http, case_id, "start-conversation", conversation(service.clock().date()))
    return case_id


async def test_s_the_opp_s_parts_are_recorded_and_read_back(service: Service) -> None:
    """S: starting point, expected outflow, goals and support are the OPP's parts; a goal
    left blank is no goal, and the OPP's evaluations follow it as before."""
    case_id = await opened(service)
    today = service.clock().date()
    drawn_up = today - timedelta(days=3)
    await post(service.http, case_id, "opp", {"drawn_up_on": drawn_up.isoformat(), **OPP}, IB_H)
    review = {"evaluated_on": today.isoformat(), "summary": "Leesdoel deels gehaald."}
    await post(service.http, case_id, "opp/evaluations", review, IB_H)

    view = await trajectory(service.http, case_id, lambda v: bool(v["opp_evaluations"]))
    opp = view["opp"]
    assert opp["drawn_up_on"] == drawn_up.isoformat()
    assert opp["starting_point"] == OPP["starting_point"]
    assert opp["expected_outflow"] == OPP["expected_outflow"]
    assert opp["goals"] == [OPP["goals"][0], OPP["goals"][2]]
    assert opp["support"] == OPP["support"]
    assert [e["summary"] for e in view["opp_evaluations"]] == ["Leesdoel deels gehaald."]

    stored = [
        e for e in await service.store.read_stream(str(case_id)) if "OppRecorded" in e.event_type
    ]
    # At rest the parts are sealed (issue 20); the answer above opened them.
    assert stored[-1].data["expected_outflow"].startswith("sealed:v1:")
    assert OPP["expected_outflow"] not in str(stored[-1].data)


async def test_s_an_opp_by_its_date_alone_still_reads(service: Service) -> None:
    """An OPP recorded before it had parts (its date only) reads with the parts empty, and
    an event stored without the new fields still folds."""
    case_id = await opened(service)
    today = service.clock().date()
    await post(service.http, case_id, "opp", {"drawn_up_on": today.isoformat()}, IB_H)
    view = await trajectory(service.http, case_id, lambda v: v["opp"] is not None)
    assert view["opp"]["goals"] == [] and view["opp"]["starting_point"] is None

    old = OppRecorded.model_validate(
        {
            "case_id": str(case_id),
            "drawn_up_on": today.isoformat(),
            "recorded_by": "ib-marieke",
            "recorded_at": "2026-09-14T08:30:00+00:00",
        }
    )
    assert old.goals == [] and old.support is None


async def test_s_an_opp_part_too_long_is_refused_with_its_field(service: Service) -> None:
    case_id = await opened(service)
    body = {"drawn_up_on": service.clock().date().isoformat(), "support": "x" * 4001}
    answer = await service.http.post(f"/cases/{case_id}/opp", json=body, headers=IB_H)
    assert answer.status_code == 422
    assert any("support" in str(e.get("loc") or e) for e in answer.json()["errors"])
