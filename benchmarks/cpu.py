"""The CPU time of the processes a stage runs, read from ``/proc`` (Linux).

A stage names its processes in groups (a service, the broker, every PostgreSQL server
process, the benchmark itself); :func:`snapshot` before and after the timed work and
:func:`used` give each group's CPU seconds in between. Processes of a group that started
meanwhile count whole; those that ended meanwhile are missed (PostgreSQL's backends of
the services' pools live as long as the services).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

# A group's processes, asked again at every snapshot (PostgreSQL starts backends).
Pids = Callable[[], list[int]]
Snapshot = dict[str, dict[int, float]]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def named(name: str) -> Pids:
    """Every process whose command name (``/proc/<pid>/comm``) is ``name``."""

    def pids() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == name:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    return pids


def these(*pids: int | None) -> Pids:
    """A fixed set of processes (a ``None`` is left out)."""
    return lambda: [p for p in pids if p]


def snapshot(groups: Mapping[str, Pids]) -> Snapshot:
    """Each group's processes with their CPU seconds so far."""
    taken: Snapshot = {}
    for group, pids in groups.items():
        taken[group] = {}
        for pid in pids():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                taken[group][pid] = seconds
    return taken


def used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per group between two snapshots."""
    return {
        group: sum(s - before.get(group, {}).get(pid, 0.0) for pid, s in now.items())
        for group, now in after.items()
    }
