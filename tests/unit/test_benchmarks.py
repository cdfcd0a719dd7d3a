"""The benchmark's bookkeeping: medians, targets, the tables, the JSON file, profile summaries, and
the latency stage's per-minute and per-hop figures from the services' hop traces."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from benchmarks import cpu
from benchmarks.__main__ import parse_args, sizes_of
from benchmarks.plan import GROWTH_LEVELS, Sizes
from benchmarks.profiling import summarise
from benchmarks.results import Target, detail_table, details, figure, median, table, write_json
from benchmarks.stack import libpq_params
from benchmarks.stages import broker, latency


def test_the_figure_is_the_median_of_its_runs_and_judged_against_its_target() -> None:
    f = figure(
        "relay", "outbox relay", [30_000.0, 10_000.0, 25_000.0], "ev/s", Target(">=", 20_000)
    )
    assert f.value == 25_000.0
    assert f.runs == 3
    assert f.met is True
    missed = figure("relay", "outbox relay", [9.0, 11.0, 10.0], "ev/s", Target(">=", 20_000))
    assert missed.met is False


def test_a_figure_without_target_is_not_judged_and_an_explicit_verdict_wins() -> None:
    assert figure("peer", "peer", [5.0], "ev/s").met is None
    overruled = figure("p99", "p99", [100.0], "ms", Target("<", 150), met=False)
    assert overruled.met is False


def test_upper_bounds_and_an_empty_run_list() -> None:
    assert Target("<=", 1.2).met(1.2) is True
    assert Target("<", 150).met(150) is False
    assert Target(">=", 1).met(None) is None
    with pytest.raises(ValueError, match="measured nothing"):
        median([])


def test_the_table_has_one_row_per_figure_with_marked_misses() -> None:
    figures = [
        figure("a", "append", [12_345.6], "ev/s", Target(">=", 10_000, ">= 10,000")),
        figure("b", "p99", [170.123], "ms", Target("<", 150, "< 150 ms")),
    ]
    lines = table(figures).splitlines()
    assert len(lines) == 4
    assert "12,346" in lines[2] and "yes" in lines[2]
    assert "170.12" in lines[3] and "**no**" in lines[3]


def test_the_json_file_holds_every_figure_with_machine_commit_and_date(tmp_path: Path) -> None:
    out = tmp_path / "results" / "latest.json"
    f = figure("verify", "verify", [1.0, 2.0, 3.0], "ev/s", Target(">=", 2), settings={"n": 3})
    run = {"date": "2027-03-01T09:00:00+00:00", "commit": "abc"}
    write_json(out, [f], {"cpu": "x", "cores": 2}, run)
    document = json.loads(out.read_text())
    (entry,) = document["figures"]
    assert entry["name"] == "verify"
    assert entry["value"] == 2.0
    assert entry["met"] == "yes"
    assert entry["runs"] == 3
    assert entry["settings"] == {"n": 3}
    assert entry["machine"] == {"cpu": "x", "cores": 2}
    assert entry["commit"] == "abc" and entry["date"] == run["date"]
    assert not list(out.parent.glob("*.tmp"))


def test_growth_levels_stop_at_max_events() -> None:
    assert Sizes.full(1_000_000).growth_levels == (10_000, 100_000, 1_000_000)
    assert Sizes.full(10**9).growth_levels == GROWTH_LEVELS


def test_libpq_params_of_a_unix_socket_url_and_a_tcp_url() -> None:
    socket = libpq_params("postgresql://postgres:@/bench_1?host=/tmp/pg/data")
    assert socket == {
        "dbname": "bench_1",
        "host": "/tmp/pg/data",
        "port": 5432,
        "user": "postgres",
        "password": "",
    }
    tcp = libpq_params("postgresql://app:s%40cret@db.local:6543/passend")
    assert tcp["host"] == "db.local" and tcp["port"] == 6543 and tcp["password"] == "s@cret"


def test_profile_summary_counts_own_and_inclusive_samples(tmp_path: Path) -> None:
    raw = tmp_path / "verify-0.txt"
    raw.write_text(
        "process 1:main (run.py:1);verify (store.py:10);hash_of (hashchain.py:5) 30\n"
        "process 1:main (run.py:1);verify (store.py:10);event_from_row (store.py:40) 10\n"
    )
    summary = summarise(raw, seconds=1.0)
    assert "40 busy samples" in summary
    assert "16%" in summary  # 40 samples of 250 possible in one second
    assert "75.0%  hash_of (hashchain.py)" in summary
    assert "100.0%  verify (store.py)" in summary


def test_a_figure_of_minutes_is_judged_by_its_worst_minute() -> None:
    minutes = [30.0, 120.0, 45.0]
    f = figure("p99", "p99", minutes, "ms", Target("<", 100), worst=True)
    assert f.value == 120.0 and f.met is False and f.aggregate == "worst"
    assert figure("r", "rate", [3.0, 1.0, 2.0], "ev/s", Target(">=", 1), worst=True).value == 1.0
    assert figure("ref", "reference", [3.0, 9.0], "ms", worst=True).value == 9.0


def test_detail_tables_print_once_after_the_figures() -> None:
    t = detail_table("Per hop", ["hop", "p50"], [["fetch", 12.345], ["commit", None]])
    a = figure("a", "a", [1.0], "ms", settings={"tables": [t]})
    b = figure("b", "b", [1.0], "ms", settings={"tables": [t]})
    printed = details([a, b])
    assert printed.count("**Per hop**") == 1
    assert "| fetch  | 12.3 |" in printed and "| commit | -    |" in printed
    assert details([figure("c", "c", [1.0], "ms")]) == ""


def test_options_override_the_sizes() -> None:
    options = "--latency-seconds 120 --latency-rate 50 --slice-seconds 30 --levels 10_000,1000"
    args = parse_args(options.split())
    sizes = sizes_of(args)
    assert sizes.latency_seconds == 120 and sizes.latency_rate == 50
    assert sizes.latency_slice_seconds == 30 and sizes.growth_levels == (1_000, 10_000)
    assert sizes_of(parse_args([])).latency_seconds == 600  # ten minutes by default
    assert sizes_of(parse_args(["--quick"])).latency_seconds == 3
    with pytest.raises(SystemExit):
        parse_args(["--latency-seconds", "0"])


def _span(kind: str, c: str, **moments: Any) -> dict[str, Any]:
    return {"span": kind, "c": [c, "someone-else"], **{k: int(v * 1e9) for k, v in moments.items()}}


def test_each_command_is_followed_hop_by_hop_and_the_hops_add_up() -> None:
    c = "b1-1"
    spans = [
        _span("http", c, t0=1.000, t1=1.020) | {"path": "/requests"},
        _span("append", c, t0=1.005, t1=1.010) | {"source": "/passend/intake"},
        _span("relay", c, woken=1.010, t0=1.011, read=1.013, acked=1.016, t1=1.017)
        | {"source": "/passend/intake"},
        _span("consume", c, t0=1.030, applied=1.045, t1=1.046) | {"consumer": "routing"},
        _span("consume", c, t0=1.031, applied=1.032, t1=1.033) | {"consumer": "case_consent"},
        _span("append", c, t0=1.035, t1=1.042) | {"source": "/passend/assignment"},
        # The case board, applied in the routing append's transaction (intake's own
        # inline step is not on this way).
        _span("inline", c, t0=1.038, t1=1.041) | {"topic": "passend.assignment.events"},
        _span("inline", c, t0=1.006, t1=1.008) | {"topic": "passend.intake.events"},
        # The case board's consumer later finds the event handled: not on the way either.
        _span("consume", c, t0=1.060, applied=1.070, t1=1.071) | {"consumer": "case_board"},
    ]
    window = latency._Window(commands=[latency._Command(1, c, 0.999, answered=1.022, seen=1.050)])
    minutes, hops = latency.summarise(window, spans, slice_seconds=60)
    (minute,) = minutes
    assert minute["traced"] == 1 and minute["seen"] == 1
    assert minute["p50_ms"] == pytest.approx(28.0)  # from the 2xx
    assert minute["p50_from_send_ms"] == pytest.approx(51.0)
    by_name = {h["hop"]: h["p50_ms"] for h in hops}
    on_the_way = [by_name[name] for name, _, _ in latency.HOPS]
    assert sum(on_the_way) == pytest.approx(51.0)  # scheduled send to first sight
    assert on_the_way[4] == pytest.approx(14.0)  # broker -> routing reactor
    assert on_the_way[6] == pytest.approx(3.0)  # the case board, inline
    assert by_name[latency._ANSWER[0]] == pytest.approx(22.0)


def test_every_command_s_trace_goes_into_the_results_file_and_gives_back_its_hops(
    tmp_path: Path,
) -> None:
    c = "b1-1"
    spans = [
        _span("http", c, t0=1.000, t1=1.020) | {"path": "/requests"},
        _span("append", c, t0=1.005, t1=1.010) | {"source": "/passend/intake"},
        _span("relay", c, woken=1.010, t0=1.011, read=1.013, acked=1.016, t1=1.017)
        | {"source": "/passend/intake"},
        _span("consume", c, t0=1.030, applied=1.045, t1=1.046) | {"consumer": "routing"},
        _span("append", c, t0=1.035, t1=1.042) | {"source": "/passend/assignment"},
        _span("inline", c, t0=1.038, t1=1.041) | {"topic": "passend.assignment.events"},
    ]
    window = latency._Window(
        commands=[
            latency._Command(2, "b1-2", 1.009, answered=1.030),  # answered, never seen
            latency._Command(1, c, 0.999, answered=1.022, seen=1.050),
        ]
    )
    traces = latency.command_traces(window, spans)
    fig = figure("latency_p99", "p99", [1.0], "ms", settings={"traces": traces})
    path = tmp_path / "results.json"
    write_json(path, [fig], {"cpu": "test"}, {"commit": "abc", "date": "today"})
    text = path.read_text()
    assert "[1,0.0,1.0,11.0,14.0,17.0,31.0,39.0,42.0,46.0,51.0,23.0]" in text
    stored = json.loads(text)["figures"][0]["settings"]["traces"]
    columns = stored["columns"]
    first, second = (dict(zip(columns, row, strict=True)) for row in stored["rows"])
    assert first["command"] == 1 and second["command"] == 2 and second["sent_s"] == 0.01
    assert second["seen_ms"] is None and second["answered_ms"] == pytest.approx(21.0)
    # Each hop is the difference of two of its moments; they add up to the whole way.
    sent_ms = {"scheduled": 0.0} | {
        name.removesuffix("_ms"): value for name, value in first.items() if name.endswith("_ms")
    }
    hops = [sent_ms[end] - sent_ms[start] for _, start, end in stored["hops"]][:-1]
    assert hops[4] == pytest.approx(14.0) and sum(hops) == pytest.approx(51.0)


def test_a_command_without_every_hop_in_the_traces_counts_but_is_not_traced() -> None:
    window = latency._Window(commands=[latency._Command(1, "b1-9", 5.0, answered=5.01, seen=5.05)])
    minutes, hops = latency.summarise(window, [], slice_seconds=60)
    assert minutes[0]["seen"] == 1 and minutes[0]["traced"] == 0
    assert all(h["p50_ms"] is None for h in hops)


class _StuckReader:
    """A reader whose position never moves (the broker acknowledged a record it never serves)."""

    def __init__(self) -> None:
        self.fetches = 0

    def assignment(self) -> set[Any]:
        return {TopicPartition("bench.broker", 0)}

    async def position(self, tp: Any) -> int:
        return 15_000

    async def getmany(self, *partitions: Any, timeout_ms: int = 0) -> dict[Any, Any]:
        self.fetches += 1
        return {}


async def test_a_record_that_never_reaches_a_reader_fails_the_wait_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker, "REACH_SECONDS", 0.01)
    reader = _StuckReader()
    with pytest.raises(broker.Undelivered, match="stayed at offset 15000"):
        await broker._until(reader, 15_001)
    assert reader.fetches >= 1


def test_cpu_of_a_group_of_processes_is_what_they_used_in_between() -> None:
    groups = {"me": cpu.these(os.getpid(), None), "nobody": cpu.named("no-such-process-x")}
    before = cpu.snapshot(groups)
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # burn 0.2 s of CPU
        pass
    spent = cpu.used(before, cpu.snapshot(groups))
    assert spent["nobody"] == 0
    assert 0.15 <= spent["me"] < 5  # clock ticks: 10 ms steps
    # A process that started in between counts whole.
    assert cpu.used({"me": {}}, {"me": {1: 2.5}}) == {"me": 2.5}


def test_cpu_of_a_child_that_ended_in_between_counts_through_its_parent() -> None:
    # As PostgreSQL's backends: gone by the second snapshot, their time in the postmaster's.
    me = {"me": cpu.these(os.getpid())}
    before = cpu.snapshot(me)
    burn = "import time\nt = time.process_time() + 0.3\nwhile time.process_time() < t: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert cpu.used(before, cpu.snapshot(me))["me"] >= 0.25
