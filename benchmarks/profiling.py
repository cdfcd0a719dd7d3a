"""Sampling profiles of the timed sections (py-spy), summarised as top frames.

``--profile DIR`` attaches py-spy to this process around each timed section and writes
``DIR/<section>.txt`` (collapsed stacks) and ``DIR/<section>.summary.txt``. py-spy leaves
out idle samples, so the busy share says how much of the wall time the benchmark's own
Python was on the CPU; the rest it waited for PostgreSQL or the broker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

RATE = 250  # samples per second
TOP = 15


def py_spy() -> str | None:
    """The py-spy next to this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def profiled(directory: Path | None, section: str, pid: int | None = None) -> Iterator[None]:
    """Sample this process (or ``pid``) while the block runs; nothing when ``directory`` is None."""
    if directory is None:
        yield
        return
    binary = py_spy()
    if binary is None:
        raise RuntimeError("--profile needs py-spy: pip install py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / f"{section}.txt"
    command = [binary, "record", "--pid", str(pid or os.getpid()), "--rate", str(RATE)]
    command += ["--format", "raw", "--nonblocking", "--output", str(raw)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    # py-spy says when it samples; what runs before that would be missing from the profile.
    for line in process.stdout:
        if "Sampling process" in line:
            break
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        summary = summarise(raw, seconds)
        (directory / f"{section}.summary.txt").write_text(summary, encoding="utf-8")
        print(summary, file=sys.stderr)


def summarise(raw: Path, seconds: float) -> str:
    """Top frames by own samples and by samples including callees, of a collapsed-stack file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += count
        own[_short(frames[-1])] += count
        for frame in {_short(f) for f in frames if not _plumbing(f)}:
            inclusive[frame] += count
    busy = total / (RATE * seconds) if seconds > 0 else 0.0
    lines = [
        f"profile {raw.stem}: {seconds:.1f}s wall, {total} busy samples at {RATE}/s "
        f"(benchmark process on CPU {busy:.0%} of the time)",
        "  top frames by own samples:",
        *(f"    {n / max(total, 1):6.1%}  {f}" for f, n in own.most_common(TOP)),
        "  top frames including callees:",
        *(f"    {n / max(total, 1):6.1%}  {f}" for f, n in inclusive.most_common(TOP)),
    ]
    return "\n".join(lines) + "\n"


def _plumbing(frame: str) -> bool:
    """Frames every sample passes through (event loop, module runner, the benchmark itself)."""
    return any(part in frame for part in ("asyncio/", "<frozen runpy>", "benchmarks/", "(<"))


def _short(frame: str) -> str:
    """``func (path/to/module.py:12)`` -> ``func (module.py)``: lines differ per sample."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})" if parts else name
