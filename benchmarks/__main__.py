"""``python -m benchmarks``: run the stages, print one table, write results/latest.json."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import machine
from benchmarks.plan import GROWTH_LEVELS, STAGES, Bench, Sizes
from benchmarks.results import Figure, details, table, write_json
from benchmarks.stack import Stack, open_stack
from benchmarks.stages import append, broker, broker_traffic, growth, latency, pipeline
from passend_backbone.logs import configure_logging

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
# Growth up to 10M events by default (filling the stores takes 15-20 minutes on two cores
# and about 11 GB of disk); --max-events 1000000 or --levels shorten it.
DEFAULT_MAX_EVENTS = 10_000_000
_PIPELINE = ("relay", "projection", "rebuild", "verify")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of the event backbone on the dev stack (embedded PostgreSQL "
        "and Tansu) or on DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS (+ KAFKA_BROKER_KIND).",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=STAGES,
        metavar="STAGE",
        help=f"run only this stage (repeatable): {', '.join(STAGES)}",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median counts")
    parser.add_argument(
        "--max-events",
        type=int,
        default=DEFAULT_MAX_EVENTS,
        help=f"largest growth level to fill (levels: {', '.join(f'{n:,}' for n in GROWTH_LEVELS)}"
        f"; default {DEFAULT_MAX_EVENTS:,})",
    )
    parser.add_argument(
        "--levels",
        type=_levels,
        metavar="N,N,...",
        help="growth levels to fill instead of those up to --max-events (e.g. 10000,100000)",
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        metavar="S",
        help="how long the latency stage holds its rate (default 600; --quick 3)",
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        metavar="PER_S",
        help="commands per second of the latency stage (default 100; --quick 20)",
    )
    parser.add_argument(
        "--slice-seconds",
        type=float,
        metavar="S",
        help="the latency stage reports per slice of this length (default 60: per minute)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy profiles of every timed section into DIR (figures then carry its cost)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not args.quick and args.max_events < GROWTH_LEVELS[0] and not args.levels:
        parser.error(f"--max-events must be at least {GROWTH_LEVELS[0]:,}")
    for name in ("latency_seconds", "latency_rate", "slice_seconds"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(sorted({int(part.replace("_", "")) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of event counts: {text!r}") from None
    if len(levels) < 2 or levels[0] < 1:
        raise argparse.ArgumentTypeError("give at least two positive event counts")
    return levels


def sizes_of(args: argparse.Namespace) -> Sizes:
    """The run's sizes: quick or full, with the options that override them."""
    sizes = Sizes.quick() if args.quick else Sizes.full(args.max_events)
    changes: dict[str, object] = {}
    if getattr(args, "levels", None):
        changes["growth_levels"] = args.levels
    if getattr(args, "latency_seconds", None):
        changes["latency_seconds"] = args.latency_seconds
    if getattr(args, "latency_rate", None):
        changes["latency_rate"] = args.latency_rate
    if getattr(args, "slice_seconds", None):
        changes["latency_slice_seconds"] = args.slice_seconds
    return dataclasses.replace(sizes, **changes)  # type: ignore[arg-type]


async def run_stages(
    bench: Bench, stages: list[str], done: Callable[[list[Figure]], None] = lambda _: None
) -> list[Figure]:
    """The figures of ``stages``, in the order of :data:`STAGES`; ``done`` after each stage."""
    figures: list[Figure] = []
    steps: list[tuple[str, Callable[[], Awaitable[list[Figure]]]]] = []
    if "append" in stages:
        steps.append(("append: batched, ours and eventsourcing's", lambda: append.batched(bench)))
    if "concurrent" in stages:
        steps.append(("concurrent: one event per transaction", lambda: append.concurrent(bench)))
    wanted = [s for s in _PIPELINE if s in stages]
    if wanted:
        steps.append((f"pipeline: {', '.join(wanted)}", lambda: pipeline.run(bench, wanted)))
    if "broker" in stages:
        steps.append(("broker: fetch cost as a partition grows", lambda: broker.run(bench)))
    if "latency" in stages:
        steps.append(
            ("latency: command to another service's read model", lambda: latency.run(bench))
        )
    if "growth" in stages:
        steps.append(("growth: append and history as the store grows", lambda: growth.run(bench)))
    if "traffic" in stages:
        steps.append(
            (
                "traffic: the broker alone under the latency window's traffic, per pattern",
                lambda: broker_traffic.run(bench),
            )
        )
    for title, step in steps:
        bench.progress(f"stage {title}")
        figures += await step()
        done(figures)
    return figures


async def measure(args: argparse.Namespace, stack: Stack) -> int:
    sizes = sizes_of(args)
    stages = [s for s in STAGES if not args.only or s in args.only]
    bench = Bench(stack=stack, sizes=sizes, runs=args.runs, profile_dir=args.profile)
    started = datetime.now(UTC)
    bench.progress(
        f"database {'embedded' if stack.database.embedded else 'from DATABASE_URL'}, "
        f"broker {stack.kind} at {stack.bootstrap}"
    )
    facts = await machine.describe(
        stack.database.admin_url, stack.database.embedded, stack.bootstrap, stack.kind
    )
    run: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        **machine.git_commit(),
        "command": " ".join(["python -m benchmarks", *sys.argv[1:]]),
        "quick": args.quick,
        "runs": args.runs,
        "stages": stages,
        "sizes": dataclasses.asdict(sizes),
        "profiled": args.profile is not None,
    }

    def save(figures: list[Figure], *, complete: bool = False) -> None:
        # After every stage too: a run stopped halfway still leaves what it measured.
        run["complete"] = complete
        run["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
        facts["load_average_at_end"] = machine.load_average()
        write_json(args.output, figures, facts, run)

    figures = await run_stages(bench, stages, save)
    save(figures, complete=True)
    print(table(figures))
    more = details(figures)
    if more:
        print()
        print(more)
    print()
    postgres, broker = facts["postgresql"], facts["broker"]
    print(
        f"{run['date']}, commit {str(run['commit'])[:12]}{' (modified)' if run['dirty'] else ''}; "
        f"{facts['cpu']}, {facts['cores']} cores, {facts['ram_gib']} GiB RAM; "
        f"Python {facts['python']}; PostgreSQL {postgres['version']}"
        f"{' (embedded)' if postgres['embedded'] else ''}; "
        f"broker {broker['version'] or broker['kind']}; median of {args.runs} run(s); "
        f"load average {facts['load_average_at_start']} at start, "
        f"{facts['load_average_at_end']} at end"
    )
    print(f"written to {args.output}")
    return 0


async def _until_signalled(args: argparse.Namespace, stack: Stack) -> int:
    # SIGTERM and SIGINT cancel the run, so every stage's cleanup runs (services stopped,
    # databases dropped) before the embedded PostgreSQL and the broker stop.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await measure(args, stack)
    except asyncio.CancelledError:
        print("benchmark stopped; figures so far are in the results file", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The library's own log lines (rebuild started, ...) would mix with the table.
    configure_logging("benchmark", level="warning", fmt="console")
    with open_stack() as stack:
        return asyncio.run(_until_signalled(args, stack))


if __name__ == "__main__":
    sys.exit(main())
