"""The figures of a nemesis run: faults by kind, commands acknowledged, lost, doubled, heals."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.nemesis.checks import Verdict
from tests.nemesis.faults import KINDS, Fault
from tests.nemesis.load import Ledger

ROOT = Path(__file__).resolve().parents[2]


def machine() -> dict[str, Any]:
    """Where and on what the run happened: cores, architecture, commit, date."""

    def git(*args: str) -> str:
        command = [shutil.which("git") or "git", *args]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        commit = "unknown (not run from a git checkout)"
    elif git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "load average at the end": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
    }


@dataclass
class Conditions:
    """The machine's load while the run went on, sampled every few seconds: the run shares
    its cores with whatever else runs (other test suites, say), and its times mean little
    without that."""

    load: list[float] = field(default_factory=list)  # 1-minute load average
    others: list[int] = field(default_factory=list)  # other pytest processes running

    def sample(self) -> None:
        self.load.append(os.getloadavg()[0])
        self.others.append(_other_test_processes())

    def figures(self) -> dict[str, Any]:
        if not self.load:
            return {}
        return {
            "1-minute load average during the run (median, max)": [
                round(statistics.median(self.load), 2),
                round(max(self.load), 2),
            ],
            "other test processes (pytest) running beside it (median, max)": [
                statistics.median(self.others),
                max(self.others),
            ],
            "samples": len(self.load),
        }


def _other_test_processes() -> int:
    found = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"pytest" in command:
                found += 1
    return found


def heal_times(faults: list[Fault]) -> dict[str, str]:
    """Median and longest time from healing to ready again, per kind of fault."""
    found: dict[str, str] = {}
    for kind in KINDS:
        times = [f.heal_seconds for f in faults if f.kind == kind and f.heal_seconds is not None]
        if times:
            found[kind] = f"median {statistics.median(times):.1f} s, max {max(times):.1f} s"
    return found


def figures(
    ledger: Ledger,
    faults: list[Fault],
    verdict: Verdict,
    *,
    minutes: float,
    settle_seconds: float,
    ready_seconds: float,
    answers: dict[str, int],
    skipped: dict[str, int],
    conditions: Conditions | None = None,
) -> dict[str, Any]:
    by_kind = Counter(f.kind for f in faults)
    by_what = Counter(f"{f.kind}: {f.what}" for f in faults)
    unhealed = [f"{f.what} -> {f.target}" for f in faults if f.ready is None]
    return {
        "machine": machine(),
        "load on the machine": conditions.figures() if conditions else {},
        "minutes under faults": round(minutes, 1),
        "faults injected": len(faults),
        "faults by kind": {k: by_kind.get(k, 0) for k in KINDS},
        "faults in detail": dict(sorted(by_what.items())),
        "faults not healed (target never ready again)": unhealed,
        "faults skipped": skipped,
        "time to heal (to the target ready again from: SIGCONT or link up; the kill for a "
        "crash; the start for a rebalance)": heal_times(faults),
        "cases started": len(ledger.cases),
        "cases finished": sum(c.finished for c in ledger.cases),
        "commands acknowledged": ledger.acknowledged,
        "lost (acknowledged commands' effects, messages owed)": len(verdict.lost),
        "effects doubled": len(verdict.doubled),
        "other problems": len(verdict.problems),
        "requests sent (with retries)": ledger.attempts,
        "answers and errors seen by the load": dict(sorted(answers.items())),
        "every instance ready again after the last fault (s)": round(ready_seconds, 1),
        "settled after the load stopped (s)": round(settle_seconds, 1),
        **verdict.figures,
    }


def render(found: dict[str, Any], verdict: Verdict) -> str:
    lines = ["", "Nemesis figures", "==============="]
    for key, value in found.items():
        if isinstance(value, dict) and value:
            lines.append(f"{key}:")
            lines += [f"    {k}: {v}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {value}")
    for title, items in (
        ("LOST", verdict.lost),
        ("DOUBLED", verdict.doubled),
        ("PROBLEMS", verdict.problems),
    ):
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"    {item}" for item in items[:40]]
    lines.append("PASSED" if verdict.ok else "FAILED")
    return "\n".join(lines) + "\n"
