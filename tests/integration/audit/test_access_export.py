"""Access on request (issue 20, GDPR art. 15): a pupil with a full trajectory, exported from
every service, checked against every service's own events; the export is a logged read."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_contracts.privacy import WITHDRAWN_BY_ERASURE
from passend_devstack.test_tokens import token_for
from passend_devstack.waiting import eventually
from passend_intake import privacy_cli
from tests.integration.audit.kit import (
    NAMES,
    SWV,
    WORKER_AUTH,
    System,
    claim,
    explore_and_plan,
    give_consent,
    run_cli,
    submit,
    support_and_sessions,
)

pytestmark = pytest.mark.integration

OFFICER = token_for(Role.PRIVACY_OFFICER, SWV, subject="fg-yvonne")


async def test_the_export_holds_every_event_of_every_service_and_is_logged(
    system: System, tmp_path: Path
) -> None:
    pupil = f"leerling-{uuid4().hex[:6]}"
    case_id = await submit(system, pupil)
    await give_consent(system, case_id)
    await claim(system, case_id)
    await explore_and_plan(system, case_id)
    await support_and_sessions(system, case_id, sessions=2)
    await system.settled()

    urls = [f"--{name}-url={system.urls[name]}" for name in NAMES]
    out_json, out_html = tmp_path / "inzage.json", tmp_path / "inzage.html"

    def run() -> tuple[int, str]:
        out = io.StringIO()
        argv = ["--token", OFFICER, *urls, "export", pupil]
        with contextlib.redirect_stderr(out):
            code = privacy_cli.run([*argv, "--json", str(out_json), "--html", str(out_html)], out)
        return code, out.getvalue()

    code, said = await asyncio.to_thread(run)
    assert code == 0, said
    export = json.loads(out_json.read_text(encoding="utf-8"))
    assert export["identity"]["name"] == "Noor Visser"
    assert export["identity"]["parents"][0]["email"] == "m@example.nl"
    (case,) = export["cases"]
    assert case["case_id"] == case_id

    exported: dict[str, set[str]] = {name: set() for name in NAMES}
    for entry in case["entries"]:
        if entry["kind"] == "event":
            exported[entry["service"]].add(entry["event_id"])
    for name in NAMES:
        stored = {
            r["event_id"]
            for r in await system.pools[name].fetch(
                "SELECT event_id::text FROM events WHERE stream_id = $1", case_id
            )
        }
        assert exported[name] == stored, f"{name}: export differs from the store"
    assert sum(len(ids) for ids in exported.values()) >= 10  # a real trajectory
    assert exported["trajectory"], "the trajectory's own events are in it"

    html = out_html.read_text(encoding="utf-8")
    assert "Noor Visser" in html and "Gegevens over leerling" in html
    assert "Casus opgepakt" in html  # assignment's claim, described in Dutch

    # The export is itself a logged read, in every service it asked.
    for name in NAMES:
        reads = await system.pools[name].fetchval(
            "SELECT count(*) FROM case_reads WHERE case_id = $1 AND reader = 'fg-yvonne' "
            "AND reader_role = 'privacy_officer'",
            case_id,
        )
        assert reads >= 1, f"{name} did not log the export as a read"


async def test_erasing_a_pupil_in_support_ends_the_trajectory_everywhere_with_the_reason(
    system: System,
) -> None:
    """An open trajectory is not silently broken: the erasure withdraws the request, and
    trajectory and assignment end the case as they end a withdrawn one (W1)."""
    pupil = f"leerling-{uuid4().hex[:6]}"
    case_id = await submit(system, pupil)
    await give_consent(system, case_id)
    await claim(system, case_id)
    await explore_and_plan(system, case_id)
    await support_and_sessions(system, case_id, sessions=1)
    officer = {"Authorization": f"Bearer {OFFICER}", "Idempotency-Key": str(uuid4())}
    body = {
        "requested_by": "De moeder, per brief",
        "received_on": "2026-09-10",
        "grounds": "AVG art. 17 lid 1 sub b",
    }
    erased = await system.http.post(
        f"{system.urls['intake']}/privacy/pupils/{pupil}/erasure", json=body, headers=officer
    )
    assert erased.status_code == 200, erased.text

    async def withdrawn() -> dict[str, Any] | None:
        answer = await system.http.get(
            f"{system.urls['trajectory']}/cases/{case_id}/trajectory", headers=WORKER_AUTH
        )
        if answer.status_code != 200:
            return None
        found: dict[str, Any] | None = answer.json().get("withdrawn")
        return found

    ended = await eventually(withdrawn, timeout=60, what="the trajectory ended by the erasure")
    assert ended["reason"] == WITHDRAWN_BY_ERASURE
    assert "op verzoek gewist" in ended["reason"]
    assert ended["withdrawn_by"] == "fg-yvonne"
    await system.settled()
    intake_types = [
        r["event_type"].split(".")[-2]
        for r in await system.pools["intake"].fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version", case_id
        )
    ]
    assert intake_types[-2:] == ["RequestWithdrawn", "CaseErased"]
    # The case's history, as the auditor reads it, says it was erased and by whom.
    code, out = await run_cli(system, "history", case_id, "--purpose", "controle wissing")
    assert code == 0, out
    assert "Leerlinggegevens van deze casus gewist door fg-yvonne" in out
