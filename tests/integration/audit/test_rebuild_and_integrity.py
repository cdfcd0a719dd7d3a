"""Rebuilt read models equal the live ones, topics match their stores, and tampering is named."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from passend_backbone.audit import cli
from passend_backbone.audit.kafka_check import topic_event_ids
from passend_backbone.opscli import run_ops_command
from passend_contracts import topics
from passend_devstack.waiting import eventually
from tests.integration.audit.kit import NAMES, System, mixed_scenario, run_cli
from tests.topics import on_broker

pytestmark = pytest.mark.integration


async def dump(
    pool: asyncpg.Pool, projection: str, *, skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Every table of the projection's active generation (but ``skip``), rows as text, sorted."""
    generation = await pool.fetchval(
        "SELECT active FROM projection_generations WHERE projection = $1", projection
    )
    schema = f"rm_{projection}_{generation}"
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
        "ORDER BY table_name",
        schema,
    )
    out: dict[str, list[str]] = {}
    for table in tables:
        name = table["table_name"]
        if name in skip:
            continue
        rows = await pool.fetch(f'SELECT t::text AS row FROM {schema}."{name}" t ORDER BY 1')
        out[name] = [r["row"] for r in rows]
    return out


async def run_ops(
    system: System, service: str, monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", system.db_urls[service])
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", system.broker.bootstrap_servers)
    monkeypatch.setenv("KAFKA_BROKER_KIND", system.broker.kind)

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = run_ops_command(system.specs[service], list(argv))
        return code, out.getvalue()

    return await asyncio.to_thread(call)


async def test_rebuilding_every_projection_gives_the_live_read_models_byte_for_byte(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    await mixed_scenario(system, cases=8)
    await system.settled()
    compared = 0
    for name in NAMES:
        pool = system.pools[name]
        live = {p.name: await dump(pool, p.name) for p in system.specs[name].projections}
        code, _ = await run_ops(system, name, monkeypatch, "rebuild", "--all")
        assert code == 0
        for projection in system.specs[name].projections:
            generation = await pool.fetchval(
                "SELECT active FROM projection_generations WHERE projection = $1",
                projection.name,
            )
            assert generation >= 2, f"{projection.name} was not swapped"
            rebuilt = await dump(pool, projection.name)
            assert sum(len(rows) for rows in rebuilt.values()) > 0
            assert rebuilt == live[projection.name], f"{name}.{projection.name} differs"
            compared += 1
    assert compared == sum(len(system.specs[n].projections) for n in NAMES)


async def test_every_topic_holds_exactly_its_store(system: System) -> None:
    await system.settled()
    code, out = await run_cli(system, "verify", "--kafka", system.broker.bootstrap_servers)
    assert code == 0, out
    assert "passend.intake.events" in out
    # The gateway's store is checked as well (issue 20), by its own /audit/verify.
    assert re.search(r"^gateway\s+\d+\s+\d+\s+geen$", out, re.MULTILINE), out
    answer = await system.audit("gateway", "/verify")
    assert answer.status_code == 200 and answer.json()["ok"] is True


async def test_republishing_a_store_doubles_nothing_in_the_read_models(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    await system.settled()
    # The runner's offsets move on over the second copies; nothing else may change.
    before = {
        (name, p.name): await dump(system.pools[name], p.name, skip=("consumed",))
        for name in NAMES
        for p in system.specs[name].projections
    }
    stored = await system.pools["intake"].fetchval("SELECT count(*) FROM events")
    ids, _, _ = await topic_event_ids(system.broker.bootstrap_servers, on_broker(topics.INTAKE))
    code, out = await run_ops(system, "intake", monkeypatch, "republish")
    assert code == 0, out

    # The running relay publishes everything once more; consumers skip what they handled.
    async def republished() -> bool:
        found, _, _ = await topic_event_ids(
            system.broker.bootstrap_servers, on_broker(topics.INTAKE)
        )
        return len(found) >= len(ids) + stored

    await eventually(republished, timeout=60, what="intake's store published again")
    await system.settled()
    after = {
        (name, p.name): await dump(system.pools[name], p.name, skip=("consumed",))
        for name in NAMES
        for p in system.specs[name].projections
    }
    for key, tables in before.items():
        for table, rows in tables.items():
            assert after[key][table] == rows, f"{key} {table} changed"
    assert after.keys() == before.keys()
    code, out = await run_cli(system, "verify", "--kafka", system.broker.bootstrap_servers)
    assert code == 0, out


async def test_history_report_is_merged_in_causal_order_and_self_contained(
    system: System, tmp_path: Path
) -> None:
    case_id = system.cases[2]  # planned and in support
    report = tmp_path / "report.html"
    code, out = await run_cli(
        system, "history", case_id, "--purpose", "inspectieonderzoek", "--html", str(report)
    )
    assert code == 0, out
    assert "Casus opgepakt door ondersteuner" in out
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=|url\(|@import|<link|<script", html, re.IGNORECASE)
    order = [line for line in out.splitlines() if "gebeurtenis" in line]
    submitted = next(i for i, line in enumerate(order) if "Hulpvraag ingediend" in line)
    claimed = next(i for i, line in enumerate(order) if "Casus opgepakt" in line)
    opened = next(i for i, line in enumerate(order) if "Traject geopend" in line)
    assert submitted < claimed < opened
    assert "inzage" in out  # the auditor's own reads are part of the history
    assert await asyncio.to_thread(cli.run, ["check-report", str(report)]) == 0
    report.write_text(html.replace("Casus opgepakt", "Casus opgepikt"), encoding="utf-8")
    assert await asyncio.to_thread(cli.run, ["check-report", str(report)]) == 1


async def test_a_tampered_event_is_named_by_stream_and_position(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs last in this module: the tampering stays."""
    case_id = system.cases[1]
    # The owner of the table (the test database's superuser), connecting directly.
    attacker = await asyncpg.connect(system.db_urls["intake"])
    try:
        position = await attacker.fetchval(
            "SELECT position FROM events WHERE stream_id = $1 AND stream_version = 1", case_id
        )
        # An attacker with superuser access switches the append-only guard off.
        await attacker.execute("ALTER TABLE events DISABLE TRIGGER events_append_only_rows")
        await attacker.execute(
            "UPDATE events SET data = "
            "jsonb_set(data::jsonb, '{why_stuck}', '\"niets aan de hand\"') WHERE position = $1",
            position,
        )
        await attacker.execute("ALTER TABLE events ENABLE TRIGGER events_append_only_rows")
    finally:
        await attacker.close()

    answer = await system.audit("intake", "/verify")
    report: dict[str, Any] = answer.json()
    assert report["ok"] is False
    assert report["first_break"]["stream_id"] == case_id
    assert report["first_break"]["position"] == position
    assert report["first_break"]["stream_version"] == 1

    code, out = await run_cli(system, "verify")
    assert code == 1
    assert f"stream {case_id} versie 1 positie {position}" in out

    code, out = await run_ops(system, "intake", monkeypatch, "verify")
    assert code == 1
    assert case_id in out and f"positie {position}" in out
