"""The CPU time of the processes a stage runs, read from ``/proc`` (Linux).

A stage names its processes in groups (a service, the broker, every PostgreSQL server
process, the benchmark itself); :func:`snapshot` before and after the timed work and
:func:`used` give each group's CPU seconds in between. Processes of a group that started
meanwhile count whole; those that ended meanwhile count through their parent, when it is
in the group and has waited for them (PostgreSQL's postmaster for its backends).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

# A group's processes, asked again at every snapshot (PostgreSQL starts backends).
Pids = Callable[[], list[int]]
Snapshot = dict[str, dict[int, float]]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` and of its children it has waited for
    (Linux), or None.

    The children count because PostgreSQL's backends come and go: one that ended in the
    timed work took its CPU time with it, except into its parent's (the postmaster's).
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime, stime, cutime, cstime: fields 14-17 of stat(5); the list starts at field 3.
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


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
