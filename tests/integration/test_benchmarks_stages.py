"""Every benchmark stage runs end to end on tiny sizes against the real PostgreSQL and broker."""

import argparse
import json
from pathlib import Path

import pytest

from benchmarks.__main__ import measure
from benchmarks.plan import Bench, Sizes
from benchmarks.results import Figure
from benchmarks.stack import Stack
from benchmarks.stages import append, broker, broker_traffic, growth, latency, pipeline
from passend_devstack.infra import Broker, Database

pytestmark = pytest.mark.integration

TINY = Sizes(
    append_events=100,
    append_batch=20,
    writers=4,
    writer_events=5,
    pipeline_events=100,
    pipeline_case_size=10,
    latency_rate=20.0,
    latency_seconds=1.0,
    growth_levels=(100, 300),
    growth_samples=5,
    latency_slice_seconds=0.5,
    append_runs=1,
    broker_levels=(30, 90),
    traffic_minutes=(1, 2),
    traffic_seconds=1.0,
)


@pytest.fixture
def bench(database: Database, broker: Broker, tmp_path: Path) -> Bench:
    return Bench(stack=Stack(database, broker, tmp_path), sizes=TINY, runs=1, quiet=True)


def _by_name(figures: list[Figure]) -> dict[str, Figure]:
    return {f.name: f for f in figures}


def _measured(f: Figure) -> float:
    assert f.value is not None and f.value > 0, f
    assert f.runs == 1
    return f.value


async def test_batched_append_is_measured_next_to_the_peer_library(bench: Bench) -> None:
    figures = _by_name(await append.batched(bench))
    _measured(figures["append_batched"])
    peer = figures["append_batched_peer"]
    if peer.value is None:
        # The peer library is a benchmark requirement, not the suite's: say how to get it.
        assert "benchmarks/requirements.txt" in peer.note
    else:
        ratio = figures["append_batched_vs_peer"]
        assert ratio.value == pytest.approx(_measured(figures["append_batched"]) / peer.value)


async def test_concurrent_writers_store_every_event(bench: Bench) -> None:
    (f,) = await append.concurrent(bench)
    _measured(f)
    assert f.settings["writers"] == 4


async def test_relay_projection_rebuild_and_verify_cover_the_whole_store(bench: Bench) -> None:
    figures = _by_name(await pipeline.run(bench, ["relay", "projection", "rebuild", "verify"]))
    assert set(figures) == {"relay", "projection", "rebuild", "verify", "verify_eventstore"}
    for f in figures.values():
        _measured(f)
        assert f.settings["events"] == 100
    # The rebuild's figure says how many processes read the bulk, run by run.
    assert figures["rebuild"].settings["workers_per_run"] == [pipeline.REBUILD_WORKERS]


async def test_growth_reports_each_level_the_ratio_and_the_disk(bench: Bench) -> None:
    figures = _by_name(await growth.run(bench))
    for level in (100, 300):
        _measured(figures[f"growth_append_{level}"])
        _measured(figures[f"growth_history_{level}"])
    _measured(figures["growth_disk_per_million"])
    (table,) = figures["growth_append_100"].settings["tables"]
    assert [row[0] for row in table["rows"]] == [100, 300]
    assert figures["growth_append_ratio"].value == pytest.approx(
        _measured(figures["growth_append_300"]) / _measured(figures["growth_append_100"])
    )


@pytest.mark.e2e
async def test_latency_follows_commands_into_the_other_services_read_model(bench: Bench) -> None:
    figures = _by_name(await latency.run(bench))
    p50, p99 = figures["latency_p50"], figures["latency_p99"]
    assert p50.value is not None and p99.value is not None and 0 < p50.value <= p99.value
    assert p99.runs == 2 and p99.aggregate == "worst"  # one sample per slice, the worst counts
    settings = figures["latency_p99"].settings
    assert settings["seen"] == settings["commands"] == 20
    assert settings["failed"] == 0
    # Two half-second slices, each reported; every command traced hop by hop.
    assert [m["slice"] for m in settings["minutes"]] == [1, 2]
    assert sum(m["traced"] for m in settings["minutes"]) == 20
    hops = {h["hop"]: h for h in settings["hops"]}
    assert set(hops) == {name for name, _, _ in (*latency.HOPS, latency._ANSWER)}
    assert all(h["p50_ms"] is not None for h in hops.values())
    assert {t["title"].split(" (")[0] for t in settings["tables"]} >= {"Per hop"}
    # Every command's own trace goes into the results file: one row each, every moment there.
    traces = settings["traces"]
    rows = [row.value for row in traces["rows"]]
    assert len(rows) == 20 and all(None not in row for row in rows)
    assert len(traces["columns"]) == len(rows[0]) == 2 + len(latency.TRACE_MOMENTS)


async def test_the_broker_alone_is_measured_per_fill_level(bench: Bench) -> None:
    figures = _by_name(await broker.run(bench))
    for level in (30, 90):
        _measured(figures[f"broker_round_trip_{level}"])
    (table,) = [t for f in figures.values() for t in f.settings.get("tables", ())]
    assert len(table["rows"]) == 3  # two levels, and the same records in big batches


async def test_the_broker_alone_is_measured_under_the_windows_traffic_per_pattern(
    bench: Bench,
) -> None:
    figures = await broker_traffic.run(bench)
    assert [f.name for f in figures] == [f"traffic_cores_{p.key}" for p in broker_traffic.PATTERNS]
    (table,) = {t["title"]: t for f in figures for t in f.settings["tables"]}.values()
    rows = table["rows"]
    assert len(rows) == 2 * len(broker_traffic.PATTERNS)
    # Minute 2 starts with the minute before it stored: 20 commands/s for 0.5 s.
    assert [row[2] for row in rows] == [0, 10] * len(broker_traffic.PATTERNS)
    for row in rows:
        read, sent = (int(n.replace(",", "")) for n in row[4].split(" / "))
        assert read == sent == 20, row
        assert row[5] is not None and row[5] > 0


async def test_the_command_writes_the_table_figures_as_json(
    database: Database, broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "latest.json"
    args = argparse.Namespace(
        quick=True, only=["verify"], runs=1, max_events=0, output=out, profile=None
    )
    assert await measure(args, Stack(database, broker, tmp_path)) == 0
    document = json.loads(out.read_text())
    assert [f["name"] for f in document["figures"]] == ["verify", "verify_eventstore"]
    assert document["machine"]["postgresql"]["version"]
    assert document["machine"]["cores"] >= 1
    assert "integrity verification" in capsys.readouterr().out
