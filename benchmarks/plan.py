"""What one benchmark run does: its sizes (quick or full), repetitions and progress output."""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.profiling import profiled
from benchmarks.stack import Stack

# Stages in the order they run; ``--only`` takes any of these names.
STAGES = (
    "append",
    "concurrent",
    "relay",
    "projection",
    "rebuild",
    "verify",
    "broker",
    "latency",
    "growth",
    # Last: it leaves the broker holding far more than the latency stage should find.
    "traffic",
)
# Stored-event counts of the growth figure (up to --max-events).
GROWTH_LEVELS = (10_000, 100_000, 1_000_000, 10_000_000)
QUICK_GROWTH_LEVELS = (100, 1_000)


@dataclass(frozen=True)
class Sizes:
    """How much each stage does per run."""

    append_events: int  # batched append, ours and the peer's
    append_batch: int  # events per append (one stream, one transaction)
    writers: int  # concurrent single-event writers
    writer_events: int  # events per writer
    pipeline_events: int  # stored, relayed, projected, rebuilt and verified
    pipeline_case_size: int  # events per case stream in that store
    latency_rate: float  # commands per second
    latency_seconds: float  # how long that rate is held (one window)
    growth_levels: tuple[int, ...]
    growth_samples: int  # appends and history reads measured at each level
    latency_slice_seconds: float = 60.0  # the window is reported per slice ("minute")
    append_runs: int = 5  # batched append and its peer: at least this many runs
    broker_levels: tuple[int, ...] = (1_000, 5_000, 15_000)  # record batches per partition
    # The broker alone under the latency window's traffic: at the fill of these minutes,
    # for this long per cell (stages/broker_traffic.py).
    traffic_minutes: tuple[int, ...] = (1, 5, 10)
    traffic_seconds: float = 30.0

    @classmethod
    def full(cls, max_events: int) -> Sizes:
        return cls(
            append_events=100_000,
            append_batch=100,
            writers=8,
            writer_events=1_000,
            pipeline_events=50_000,
            pipeline_case_size=10,
            latency_rate=100.0,
            latency_seconds=600.0,
            growth_levels=tuple(n for n in GROWTH_LEVELS if n <= max_events),
            growth_samples=300,
            latency_slice_seconds=60.0,
            append_runs=5,
            broker_levels=(1_000, 5_000, 15_000),
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            append_events=200,
            append_batch=100,
            writers=8,
            writer_events=12,
            pipeline_events=100,
            pipeline_case_size=10,
            latency_rate=20.0,
            latency_seconds=3.0,
            growth_levels=QUICK_GROWTH_LEVELS,
            growth_samples=20,
            latency_slice_seconds=1.0,
            append_runs=1,
            broker_levels=(100, 400),
            traffic_minutes=(1, 2),
            traffic_seconds=2.0,
        )


@dataclass
class Bench:
    """Everything a stage needs: the infrastructure, its sizes, and where to say how it goes."""

    stack: Stack
    sizes: Sizes
    runs: int
    quiet: bool = False
    profile_dir: Path | None = None
    started: float = field(default_factory=time.monotonic)

    def profiled(self, section: str, pid: int | None = None) -> AbstractContextManager[None]:
        """A py-spy profile of the block when ``--profile`` was given (else nothing)."""
        return profiled(self.profile_dir, section, pid)

    def progress(self, message: str) -> None:
        """One line on stderr (the table goes to stdout)."""
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            print(f"[bench {elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)
