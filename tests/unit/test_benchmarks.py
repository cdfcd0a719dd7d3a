"""The benchmark's bookkeeping: medians, targets, the table, the JSON file and profile summaries."""

import json
from pathlib import Path

import pytest

from benchmarks.plan import GROWTH_LEVELS, Sizes
from benchmarks.profiling import summarise
from benchmarks.results import Target, figure, median, table, write_json
from benchmarks.stack import libpq_params


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
