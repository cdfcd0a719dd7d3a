"""Growth: append latency and one case's history query as the store holds more events.

A store per level (10k, 100k, 1M, 10M events, up to ``--max-events``) is filled
with rows of the real shape and size written by the server itself (``INSERT ... SELECT``
from ``generate_series``: filling 10M events through the client would take longer than
the whole benchmark may). Filled cases have ten events each, like a long-running case.
The filler's hashes are not chained, so these rows don't verify; the chain is not what
this figure measures. At each level the real ``EventStore.append`` (one event to an
existing case, expected version checked, hash linked to the stored head) and
``read_stream`` of a random case are timed one call at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import uuid

import asyncpg

from benchmarks.payloads import META, routed
from benchmarks.plan import Bench
from benchmarks.results import Figure, Target, detail_table, figure, median
from passend_backbone.eventstore import EventStore, PostgresEventStore

FLAT_TARGET = Target("<=", 1.2, "<= 1.20x")
CASE_SIZE = 10
_CHUNK = 250_000

_FILL = f"""
INSERT INTO events (event_id, stream_id, stream_version, event_type, data, swv, actor,
                    correlation_id, causation_id, occurred_at, prev_hash, hash)
SELECT gen_random_uuid(),
       md5('growth-case-' || (g / {CASE_SIZE}))::uuid::text,
       (g % {CASE_SIZE})::int + 1,
       'nl.passend.assignment.RequestRouted.v1',
       $1::jsonb,
       'swv-bench', 'system:benchmark', 'benchmark', 'benchmark',
       timestamptz '2027-03-01 09:00+00' + g * interval '1 second',
       sha256(int8send(g - 1)),
       sha256(int8send(g))
FROM generate_series($2::bigint, $3::bigint - 1) AS g
"""


def case_of(index: int) -> str:
    """The stream id the filler gave to case ``index`` (same md5 as in SQL)."""
    # md5 names test cases here, as in the SQL; nothing depends on it being secure.
    digest = hashlib.md5(f"growth-case-{index}".encode(), usedforsecurity=False).hexdigest()
    return str(uuid.UUID(digest))


async def _fill(bench: Bench, pool: asyncpg.Pool, start: int, end: int, template: str) -> None:
    for low in range(start, end, _CHUNK):
        high = min(end, low + _CHUNK)
        async with pool.acquire() as conn:
            await conn.execute(_FILL, template, low, high)
        if end - start > _CHUNK:
            bench.progress(f"growth: filled {high:,} events")
    async with pool.acquire() as conn:
        # What autovacuum would have done by the time a real store reached this size.
        await conn.execute("VACUUM ANALYZE events")
        # Write the fill's dirty pages out now, or a checkpoint lands inside the timed calls
        # (a server that refuses it to this user leaves that to chance).
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")


async def _sample(
    store: EventStore, filled_cases: int, versions: dict[str, int], index: int, rng: random.Random
) -> tuple[float, float]:
    """One timed append to a random case and one timed history read of another (ms)."""
    stream_id = case_of(rng.randrange(filled_cases))
    version = versions.get(stream_id, CASE_SIZE)
    event = routed(uuid.UUID(stream_id), index)
    started = time.perf_counter()
    await store.append(stream_id, version, [event], META)
    appended = (time.perf_counter() - started) * 1000
    versions[stream_id] = version + 1
    other = case_of(rng.randrange(filled_cases))
    started = time.perf_counter()
    history = await store.read_stream(other)
    read = (time.perf_counter() - started) * 1000
    if len(history) < CASE_SIZE:
        raise RuntimeError(f"case {other} has {len(history)} events, expected {CASE_SIZE}+")
    return appended, read


async def run(bench: Bench) -> list[Figure]:
    """Per level: append and history-read p50 latency (median of runs); and how they grew.

    Each level is a store of its own, filled first; then the levels are sampled in turn
    (one append and one read per level, the order rotating), so a busy moment of the
    machine falls on every level alike instead of on whichever level was being measured.
    """
    sizes = bench.sizes
    levels = sizes.growth_levels
    rng = random.Random(20270301)
    template_text = json.dumps(routed(uuid.uuid4(), 0).data)
    append_at: dict[int, list[float]] = {level: [] for level in levels}
    read_at: dict[int, list[float]] = {level: [] for level in levels}
    versions: dict[int, dict[str, int]] = {level: {} for level in levels}
    opened: dict[int, tuple[str, asyncpg.Pool]] = {}
    try:
        for level in levels:
            bench.progress(f"growth: filling a store to {level:,} events")
            opened[level] = await bench.stack.new_store(f"growth_{level}", max_size=2)
            started = time.perf_counter()
            await _fill(bench, opened[level][1], 0, level, template_text)
            bench.progress(f"growth: {level:,} filled in {time.perf_counter() - started:.0f}s")
        stores = {
            level: PostgresEventStore(pool, "/passend/bench") for level, (_, pool) in opened.items()
        }
        for run in range(bench.runs):
            appends: dict[int, list[float]] = {level: [] for level in levels}
            reads: dict[int, list[float]] = {level: [] for level in levels}
            for i in range(sizes.growth_samples):
                shift = i % len(levels)
                for level in levels[shift:] + levels[:shift]:
                    a, r = await _sample(stores[level], level // CASE_SIZE, versions[level], i, rng)
                    appends[level].append(a)
                    reads[level].append(r)
            for level in levels:
                append_at[level].append(median(appends[level]))
                read_at[level].append(median(reads[level]))
            bench.progress(
                f"growth run {run + 1}/{bench.runs}: "
                + ", ".join(
                    f"{level:,}: append {append_at[level][-1]:.2f} ms, "
                    f"history {read_at[level][-1]:.2f} ms"
                    for level in levels
                )
            )
        disk: dict[int, dict[str, float]] = {}
        for level, (_, pool) in opened.items():
            # The events table with its indexes and TOAST, as filled (before the samples'
            # appends, which add a few hundred rows per run).
            total, heap = await pool.fetchrow(
                "SELECT pg_total_relation_size('events'), pg_relation_size('events')"
            )
            disk[level] = {
                "total_mb": round(total / 1048576, 1),
                "table_mb": round(heap / 1048576, 1),
                "mb_per_million_events": round(total / 1048576 / level * 1_000_000, 1),
            }
    finally:
        for url, pool in opened.values():
            await pool.close()
            await bench.stack.drop_database(url)
    settings = {
        "levels": list(levels),
        "samples_per_run": sizes.growth_samples,
        "events_per_case": CASE_SIZE,
        "append": "one event to a random existing case (expected version, hash link)",
        "history": "read_stream of a random case (10+ events)",
        "fill": "a store per level: server-side INSERT ... SELECT generate_series, "
        "then VACUUM ANALYZE, CHECKPOINT",
        "order": "levels sampled in turn, one append and one read each, the order rotating",
        "disk": {str(level): d for level, d in disk.items()},
        "tables": [
            detail_table(
                "Growth: per level (ms; disk of the events table with its indexes)",
                ["events", "append p50", "history p50", "disk MB", "MB per million events"],
                [
                    [
                        level,
                        round(median(append_at[level]), 3),
                        round(median(read_at[level]), 3),
                        disk[level]["total_mb"],
                        disk[level]["mb_per_million_events"],
                    ]
                    for level in levels
                ],
            )
        ],
    }
    figures: list[Figure] = []
    for level in levels:
        figures.append(
            figure(
                f"growth_append_{level}",
                f"growth: append p50 at {level:,} events",
                append_at[level],
                "ms",
                settings=settings,
            )
        )
        figures.append(
            figure(
                f"growth_history_{level}",
                f"growth: case history p50 at {level:,} events",
                read_at[level],
                "ms",
                settings=settings,
            )
        )
    figures.append(
        figure(
            "growth_disk_per_million",
            f"growth: disk per million events (at {levels[-1]:,})",
            [disk[levels[-1]]["mb_per_million_events"]],
            "MB",
            settings={"disk": settings["disk"], "measured": "pg_total_relation_size('events')"},
        )
    )
    smallest, largest = levels[0], levels[-1]
    for what, at in (("append", append_at), ("history", read_at)):
        ratios = [b / a for a, b in zip(at[smallest], at[largest], strict=True)]
        figures.append(
            figure(
                f"growth_{what}_ratio",
                f"growth: {what} p50 at {largest:,} / at {smallest:,}",
                ratios,
                "x",
                FLAT_TARGET,
                settings={"levels": list(levels), "compares": f"run by run, {what} p50"},
                note="" if largest >= 10_000_000 else f"10M not run (largest level {largest:,})",
            )
        )
    return figures
