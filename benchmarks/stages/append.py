"""Appending to the event store: batched (against the ``eventsourcing`` library's PostgreSQL
recorder on the same database) and one event per transaction from concurrent writers."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
import uuid
from typing import Any

from benchmarks.payloads import META, case_batches, routed
from benchmarks.plan import Bench
from benchmarks.results import Figure, Target, detail_table, figure, median
from benchmarks.stack import libpq_params
from passend_backbone.eventstore import EventStore, NewEvent, PostgresEventStore

APPEND_TARGET = Target(">=", 10_000, ">= 10,000")
PEER_FACTOR = 2.0
CONCURRENT_TARGET = Target(">=", 1_500, ">= 1,500")


# Ours and the peer take turns, this many events each, so a busy moment of the shared
# machine falls on both alike instead of deciding the ratio of a run.
TURN_EVENTS = 10_000


async def _ours(store: EventStore, batches: list[tuple[str, list[NewEvent]]]) -> float:
    started = time.perf_counter()
    for stream_id, events in batches:
        await store.append(stream_id, 0, events, META)
    return time.perf_counter() - started


def _peer_recorder(url: str) -> tuple[Any, Any] | None:
    """``eventsourcing``'s PostgreSQL application recorder on ``url``, or None if not installed.

    Imported by name: the library is a benchmark requirement only, never the services'.
    """
    try:
        postgres = importlib.import_module("eventsourcing.postgres")
    except ImportError:
        return None
    params = libpq_params(url)
    datastore = postgres.PostgresDatastore(
        params["dbname"],
        params["host"],
        params["port"],
        params["user"],
        params["password"],
        pool_size=1,
    )
    recorder = postgres.PostgresApplicationRecorder(datastore, events_table_name="peer_events")
    recorder.create_table()
    return datastore, recorder


def _stored(batches: list[tuple[str, list[NewEvent]]]) -> list[list[Any]]:
    """The same events as the library stores them (JSON state), built before timing."""
    persistence = importlib.import_module("eventsourcing.persistence")
    return [
        [
            persistence.StoredEvent(
                originator_id=uuid.UUID(stream_id),
                originator_version=version,
                topic=f"passend_contracts.events.assignment:{event.event_type}",
                state=json.dumps(event.data).encode(),
            )
            for version, event in enumerate(events, start=1)
        ]
        for stream_id, events in batches
    ]


def _peer(recorder: Any, stored: list[list[Any]]) -> float:
    """The library's recorder, one insert per batch."""
    started = time.perf_counter()
    for batch in stored:
        recorder.insert_events(batch)
    return time.perf_counter() - started


async def _run(
    bench: Bench, run: int, store: EventStore, recorder: Any | None
) -> tuple[float, float | None]:
    """Seconds for ours and for the peer (None without it), taking turns."""
    sizes = bench.sizes
    batches = case_batches(sizes.append_events, sizes.append_batch)
    per_turn = max(1, TURN_EVENTS // sizes.append_batch)
    turns = [batches[i : i + per_turn] for i in range(0, len(batches), per_turn)]
    peer_turns = None
    if recorder is not None:
        peer_turns = [_stored(t) for t in (turns_of(sizes, per_turn))]
    ours = peer = 0.0
    with bench.profiled(f"append-{run}"):
        for n, turn in enumerate(turns):
            # Who goes first alternates too: neither always follows the other's writes.
            if peer_turns is not None and n % 2:
                # The peer's insert is blocking (psycopg): a thread keeps the loop alive.
                peer += await asyncio.to_thread(_peer, recorder, peer_turns[n])
            ours += await _ours(store, turn)
            if peer_turns is not None and not n % 2:
                peer += await asyncio.to_thread(_peer, recorder, peer_turns[n])
    return ours, (peer if peer_turns is not None else None)


def turns_of(sizes: Any, per_turn: int) -> list[list[tuple[str, list[NewEvent]]]]:
    """The peer's own events (its own stream ids), in the same turns as ours."""
    batches = case_batches(sizes.append_events, sizes.append_batch)
    return [batches[i : i + per_turn] for i in range(0, len(batches), per_turn)]


async def batched(bench: Bench) -> list[Figure]:
    """Events/s appending ``append_batch`` events per append to new streams, one writer."""
    sizes = bench.sizes
    ours: list[float] = []
    peer: list[float] = []
    peer_missing = False
    # The ratio moves with the machine from run to run: its median over several runs in
    # one invocation is what counts, and the spread is shown next to it.
    runs = max(bench.runs, sizes.append_runs)
    for run in range(runs):
        url, pool = await bench.stack.new_store("append")
        opened = _peer_recorder(url)
        try:
            store = PostgresEventStore(pool, "/passend/bench")
            peer_missing = opened is None
            seconds, peer_seconds = await _run(bench, run, store, opened[1] if opened else None)
            ours.append(sizes.append_events / seconds)
            if peer_seconds is not None:
                peer.append(sizes.append_events / peer_seconds)
        finally:
            if opened is not None:
                opened[0].close()
            await pool.close()
            await bench.stack.drop_database(url)
        bench.progress(
            f"append run {run + 1}/{runs}: ours {ours[-1]:,.0f} ev/s"
            + (f", eventsourcing {peer[-1]:,.0f} ev/s, {ours[-1] / peer[-1]:.2f}x" if peer else "")
        )
    settings = {
        "events": sizes.append_events,
        "events_per_append": sizes.append_batch,
        "writers": 1,
        "stream": "a new stream per append (expected version 0)",
        "payload": "RequestRouted, about 600 bytes of JSON",
        "includes": "JSON encoding, canonical bytes and hash chain, one round trip per append",
    }
    figures = [
        figure(
            "append_batched",
            "event store append, batched",
            ours,
            "ev/s",
            APPEND_TARGET,
            settings=settings,
        )
    ]
    if peer_missing:
        figures.append(
            figure(
                "append_batched_peer",
                "eventsourcing PostgreSQL recorder, batched",
                [],
                "ev/s",
                settings=settings,
                note="eventsourcing not installed: pip install -r benchmarks/requirements.txt",
            )
        )
        return figures
    peer_settings = {
        **settings,
        "library": f"eventsourcing {_version('eventsourcing')}, psycopg {_version('psycopg')}",
        "recorder": "PostgresApplicationRecorder.insert_events (table lock, notification ids)",
        "includes": "the recorder only: StoredEvent objects built before timing",
        "turns": f"ours and the peer take turns of {TURN_EVENTS:,} events (who goes first "
        "alternates), each on its own table of the same database",
    }
    figures.append(
        figure(
            "append_batched_peer",
            "eventsourcing PostgreSQL recorder, batched",
            peer,
            "ev/s",
            settings=peer_settings,
        )
    )
    ratios = [o / p for o, p in zip(ours, peer, strict=True)]
    spread = f"runs {min(ratios):.2f}-{max(ratios):.2f}x (median {median(ratios):.2f}x)"
    bench.progress(f"append: ours / eventsourcing {spread}")
    figures.append(
        figure(
            "append_batched_vs_peer",
            "event store append vs eventsourcing",
            ratios,
            "x",
            Target(">=", PEER_FACTOR, f">= {PEER_FACTOR:g}x"),
            settings={
                "compares": "append_batched / append_batched_peer, run by run, the median "
                f"of {len(ratios)} runs in one invocation",
                "spread": {"min": min(ratios), "max": max(ratios)},
                "tables": [
                    detail_table(
                        f"Batched append against eventsourcing, run by run ({spread})",
                        ["run", "ours ev/s", "eventsourcing ev/s", "ratio"],
                        [
                            [n + 1, round(o), round(p), f"{o / p:.2f}x"]
                            for n, (o, p) in enumerate(zip(ours, peer, strict=True))
                        ],
                    )
                ],
            },
            note=spread,
        )
    )
    return figures


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


async def _writer(store: EventStore, stream_id: str, events: list[NewEvent]) -> None:
    for version, event in enumerate(events):
        await store.append(stream_id, version, [event], META)


async def concurrent(bench: Bench) -> list[Figure]:
    """Events/s with ``writers`` tasks each appending one event per transaction to its stream."""
    sizes = bench.sizes
    rates: list[float] = []
    for run in range(bench.runs):
        url, pool = await bench.stack.new_store("concurrent", max_size=sizes.writers)
        try:
            store = PostgresEventStore(pool, "/passend/bench")
            work = []
            for w in range(sizes.writers):
                case_id = uuid.uuid4()
                events = [
                    routed(case_id, w * sizes.writer_events + i) for i in range(sizes.writer_events)
                ]
                work.append((str(case_id), events))
            # Open every connection first: connecting is not appending.
            await asyncio.gather(*(pool.fetchval("SELECT 1") for _ in range(sizes.writers)))
            with bench.profiled(f"concurrent-{run}"):
                started = time.perf_counter()
                await asyncio.gather(*(_writer(store, s, e) for s, e in work))
                seconds = time.perf_counter() - started
            rates.append(sizes.writers * sizes.writer_events / seconds)
        finally:
            await pool.close()
            await bench.stack.drop_database(url)
        bench.progress(f"concurrent run {run + 1}/{bench.runs}: {rates[-1]:,.0f} ev/s")
    return [
        figure(
            "append_concurrent",
            f"event store append, 1 event/transaction, {sizes.writers} writers",
            rates,
            "ev/s",
            CONCURRENT_TARGET,
            settings={
                "writers": sizes.writers,
                "events_per_writer": sizes.writer_events,
                "events_per_append": 1,
                "streams": "one per writer, expected version checked on every append",
                "pool_size": sizes.writers,
            },
        )
    ]
