"""The audit API answers a case's history and its state as of earlier moments, auditors only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from tests.integration.audit.kit import (
    IB_AUTH,
    NAMES,
    SWV,
    WORKER,
    System,
    claim,
    explore_and_plan,
    give_consent,
    run_cli,
    submit,
    trajectory_view,
)

pytestmark = pytest.mark.integration


async def states(system: System, case_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in NAMES:
        params = {"as_of": as_of.isoformat()} if as_of else {}
        r = await system.audit(name, f"/cases/{case_id}/state", **params)
        assert r.status_code in (200, 404), r.text
        found[name] = r.json()["state"] if r.status_code == 200 else None
    return found


async def test_state_as_of_three_moments_matches_what_was_shown_then(system: System) -> None:
    case_id = await submit(system, "leerling-asof")
    await give_consent(system, case_id)
    await system.settled()
    shown_1, moment_1 = await states(system, case_id), datetime.now(UTC)
    request_1 = (
        await system.http.get(f"{system.urls['intake']}/requests/{case_id}", headers=IB_AUTH)
    ).json()

    await claim(system, case_id)
    await trajectory_view(system, case_id, lambda v: v.get("consent") is not None)
    await system.settled()
    shown_2, moment_2 = await states(system, case_id), datetime.now(UTC)

    await explore_and_plan(system, case_id)
    await system.settled()
    shown_3, moment_3 = await states(system, case_id), datetime.now(UTC)
    view_3 = await trajectory_view(system, case_id, lambda v: bool(v.get("plans")))

    assert await states(system, case_id, moment_1) == shown_1
    code, out = await run_cli(system, "as-of", case_id, moment_1.isoformat(), "--purpose", "p")
    assert code == 0, out
    assert json.loads(out)["states"] == shown_1
    assert await states(system, case_id, moment_2) == shown_2
    assert await states(system, case_id, moment_3) == shown_3
    # What the services' own APIs showed agrees with the folded states.
    assert shown_1["intake"]["consent"] == "confirmed" == request_1["consent"]["status"]
    assert shown_1["assignment"] is not None and shown_1["assignment"]["claimed_by"] is None
    assert shown_1["trajectory"]["opened"] is None  # consent noted, not yet claimed
    assert shown_2["assignment"]["claimed_by"] == WORKER
    assert shown_2["trajectory"]["opened"]["worker_id"] == WORKER
    assert not shown_2["trajectory"]["plans"]
    assert len(shown_3["trajectory"]["plans"]) == len(view_3["plans"]) == 1


async def test_history_shows_events_with_dutch_descriptions_and_the_auditors_reads(
    system: System,
) -> None:
    case_id = await submit(system, "leerling-hist")
    await claim(system, case_id)
    await system.settled()
    r = await system.audit("intake", f"/cases/{case_id}/events")
    assert r.status_code == 200, r.text
    body = r.json()
    first = body["events"][0]
    assert first["event_type"] == "nl.passend.intake.RequestSubmitted.v1"
    assert first["description"].startswith("Hulpvraag ingediend door IB")
    assert {"actor", "on_behalf_of", "correlation_id", "causation_id", "position", "hash"} <= set(
        first
    )
    # The auditor's read is logged before it is served, so it shows in its own answer.
    reads = body["reads"]
    assert reads[-1]["reader"] == "auditor-inspectie"
    assert reads[-1]["purpose"] == "kwaliteitsonderzoek"
    assert reads[-1]["view"] == "intake.audit.events"


async def test_audit_reads_need_the_auditor_role_a_purpose_and_the_own_swv(
    system: System,
) -> None:
    case_id = await submit(system, "leerling-rights")
    url = f"{system.urls['intake']}/audit/cases/{case_id}/events"
    ib = await system.http.get(url, params={"purpose": "x"}, headers=IB_AUTH)
    assert ib.status_code == 403
    no_purpose = await system.http.get(url, headers=auth_header(Role.AUDITOR, SWV))
    assert no_purpose.status_code == 422
    other = await system.http.get(
        url, params={"purpose": "x"}, headers=auth_header(Role.AUDITOR, "swv-elders")
    )
    assert other.status_code == 404
    naive = await system.http.get(
        url,
        params={"purpose": "x", "as_of": "2027-01-01T10:00:00"},
        headers=auth_header(Role.AUDITOR, SWV),
    )
    assert naive.status_code == 422


async def test_verify_counts_this_swvs_streams_and_finds_no_break(system: System) -> None:
    await system.settled()
    for name in NAMES:
        r = await system.audit(name, "/verify")
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["ok"] is True, report
        stored = await system.pools[name].fetchval(
            "SELECT count(*) FROM events WHERE stream_id IN "
            "(SELECT stream_id FROM events WHERE swv = $1)",
            SWV,
        )
        assert report["events_checked"] == stored > 0 or name == "notifications"


async def test_a_service_without_the_audit_api_makes_the_history_incomplete(
    system: System,
) -> None:
    case_id = await submit(system, "leerling-onvolledig")
    elsewhere = {"notifications": f"{system.urls['notifications']}/geen-audit"}
    code, out = await run_cli(system, "history", case_id, "--purpose", "p", urls=elsewhere)
    assert code == 2
    assert "Hulpvraag ingediend" in out  # what the others answered is still shown
