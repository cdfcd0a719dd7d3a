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
from benchmarks.results import Figure, Target, figure
from benchmarks.stack import libpq_params
from passend_backbone.eventstore import EventStore, NewEvent, PostgresEventStore

APPEND_TARGET = Target(">=", 10_000, ">= 10,000")
PEER_FACTOR = 2.0
CONCURRENT_TARGET = Target(">=", 1_500, ">= 1,500")


async def _ours(
    bench: Bench, run: int, store: EventStore, batches: list[tuple[str, list[NewEvent]]]
) -> float:
    with bench.profiled(f"append-{run}"):
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


def _peer(recorder: Any, batches: list[tuple[str, list[NewEvent]]]) -> float:
    """The same events, as the library stores them (JSON state, one insert per batch)."""
    persistence = importlib.import_module("eventsourcing.persistence")
    stored = [
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
    started = time.perf_counter()
    for batch in stored:
        recorder.insert_events(batch)
    return time.perf_counter() - started


async def batched(bench: Bench) -> list[Figure]:
    """Events/s appending ``append_batch`` events per append to new streams, one writer."""
    sizes = bench.sizes
    ours: list[float] = []
    peer: list[float] = []
    peer_missing = False
    for run in range(bench.runs):
        url, pool = await bench.stack.new_store("append")
        try:
            store = PostgresEventStore(pool, "/passend/bench")
            batches = case_batches(sizes.append_events, sizes.append_batch)
            seconds = await _ours(bench, run, store, batches)
            ours.append(sizes.append_events / seconds)
            opened = _peer_recorder(url)
            if opened is None:
                peer_missing = True
            else:
                datastore, recorder = opened
                try:
                    peer_batches = case_batches(sizes.append_events, sizes.append_batch)
                    # The peer's insert is blocking (psycopg): a thread keeps the loop alive.
                    with bench.profiled(f"append-peer-{run}"):
                        peer_seconds = await asyncio.to_thread(_peer, recorder, peer_batches)
                    peer.append(sizes.append_events / peer_seconds)
                finally:
                    datastore.close()
        finally:
            await pool.close()
            await bench.stack.drop_database(url)
        bench.progress(
            f"append run {run + 1}/{bench.runs}: ours {ours[-1]:,.0f} ev/s"
            + (f", eventsourcing {peer[-1]:,.0f} ev/s" if peer else "")
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
    figures.append(
        figure(
            "append_batched_vs_peer",
            "event store append vs eventsourcing",
            ratios,
            "x",
            Target(">=", PEER_FACTOR, f">= {PEER_FACTOR:g}x"),
            settings={"compares": "append_batched / append_batched_peer, run by run"},
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
