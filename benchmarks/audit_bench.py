"""Audit benchmark: events per second for full chain verification and a full projection rebuild.

``python -m benchmarks.audit_bench [--events N]`` generates a log of N events (default one
million) straight into a fresh event store with COPY, every stream's hash chain computed
as the store computes it: assignment case streams of four events (routed, offered,
claimed, first contact). It then times

- **verify**: :func:`passend_backbone.audit.verify_chains` over the whole store;
- **relay**: the outbox relay publishing the store to a topic of its own (needed for the
  rebuild; shown for reference);
- **rebuild**: :func:`passend_backbone.consumer.rebuild` of the assignment service's real
  case-board projection from offset zero into a fresh generation, then the swap.

Runs on the dev stack (embedded PostgreSQL and Tansu) or on ``DATABASE_URL`` /
``KAFKA_BOOTSTRAP_SERVERS``, like ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from benchmarks import machine
from benchmarks.stack import Stack, new_topic, open_stack
from benchmarks.stages.pipeline import RenamedProjection
from passend_assignment.projections import CaseBoard
from passend_backbone import kafka_io
from passend_backbone.audit import verify_chains
from passend_backbone.consumer import rebuild
from passend_backbone.eventstore import PostgresEventStore
from passend_backbone.eventstore.hashchain import GENESIS, canonical_bytes, data_bytes, link_hash
from passend_backbone.logs import configure_logging
from passend_backbone.relay.relay import OutboxRelay
from passend_contracts.events.assignment import (
    CaseClaimed,
    CaseOfferedToWorkUnit,
    FirstContactRecorded,
    RequestRouted,
)
from passend_contracts.events.base import EventPayload

SWV = "swv-bench"
SOURCE = "/passend/bench"
CHUNK = 20_000
COLUMNS = (
    "event_id",
    "stream_id",
    "stream_version",
    "event_type",
    "data",
    "swv",
    "actor",
    "correlation_id",
    "causation_id",
    "on_behalf_of",
    "occurred_at",
    "prev_hash",
    "hash",
)
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def case_events(case_id: uuid.UUID, n: int) -> list[EventPayload]:
    """One case's four events (realistic sizes, about 300-600 bytes of JSON each)."""
    at = START + timedelta(seconds=n)
    worker, ib, school = f"ow-{n % 31:03d}", f"ib-{n % 97:04d}", f"brin-{n % 97:04d}"
    return [
        RequestRouted(
            case_id=case_id,
            swv_id=SWV,
            school_id=school,
            receiving_worker_id=worker,
            routed_at=at,
            ib_id=ib,
            work_unit_id=f"wu-{n % 7}",
            need_areas=["lezen", "gedrag"],
            submitted_at=at - timedelta(minutes=3),
            contact_due_on=date(2027, 3, 8),
            contact_due_at=datetime(2027, 3, 8, 23, 0, tzinfo=UTC),
            remind_at=datetime(2027, 3, 7, 23, 0, tzinfo=UTC),
        ),
        CaseOfferedToWorkUnit(
            case_id=case_id,
            work_unit_id=f"wu-{n % 7}",
            offered_by=f"co-{n % 7}",
            need_areas=["lezen"],
            offered_at=at + timedelta(hours=1),
        ),
        CaseClaimed(
            case_id=case_id,
            school_id=school,
            ib_id=ib,
            worker_id=worker,
            claimed_at=at + timedelta(hours=2),
        ),
        FirstContactRecorded(
            case_id=case_id,
            worker_id=worker,
            ib_id=ib,
            contacted_at=at + timedelta(days=1),
            within_deadline=True,
            recorded_at=at + timedelta(days=1, minutes=5),
        ),
    ]


def rows(total: int) -> Iterator[tuple[Any, ...]]:
    """``total`` event rows with valid hash chains, as the store would have written them."""
    made = 0
    n = 0
    while made < total:
        case_id = uuid.uuid4()
        stream = str(case_id)
        prev = GENESIS
        for version, payload in enumerate(case_events(case_id, n), start=1):
            if made == total:
                return
            event_id = uuid.uuid4()
            raw = data_bytes(payload.model_dump(mode="json"))
            text = raw.decode()
            occurred_at = START + timedelta(seconds=n, milliseconds=version)
            fields: dict[str, Any] = {
                "event_id": event_id,
                "stream_id": stream,
                "stream_version": version,
                "event_type": payload.event_type,
                "swv": SWV,
                "actor": "system:benchmark",
                "correlation_id": f"corr-{n}",
                "causation_id": f"cmd-{n}-{version}",
                "on_behalf_of": None,
                "occurred_at": occurred_at,
            }
            digest = link_hash(prev, canonical_bytes(data=raw, **fields))
            yield (
                event_id,
                stream,
                version,
                payload.event_type,
                text,
                SWV,
                "system:benchmark",
                fields["correlation_id"],
                fields["causation_id"],
                None,
                occurred_at,
                prev,
                digest,
            )
            prev = digest
            made += 1
        n += 1


async def generate(url: str, total: int) -> float:
    """Write ``total`` events with COPY; returns seconds taken."""
    started = time.monotonic()
    # A plain connection: COPY's binary json codec takes the JSON text as it is.
    conn = await asyncpg.connect(url)
    try:
        chunk: list[tuple[Any, ...]] = []
        written = 0
        for row in rows(total):
            chunk.append(row)
            if len(chunk) == CHUNK:
                await conn.copy_records_to_table("events", records=chunk, columns=COLUMNS)
                written += len(chunk)
                chunk = []
                _progress("generate", written, total, started)
        if chunk:
            await conn.copy_records_to_table("events", records=chunk, columns=COLUMNS)
            written += len(chunk)
        _progress("generate", written, total, started)
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()
    print(file=sys.stderr)
    return time.monotonic() - started


def _progress(what: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-6)
    sys.stderr.write(f"\r{what}: {done:>9}/{total} ({rate:,.0f}/s)   ")
    sys.stderr.flush()


async def relay_all(stack: Stack, pool: asyncpg.Pool, topic: str, total: int) -> float:
    await kafka_io.ensure_topics(stack.bootstrap, [topic])
    producer = await kafka_io.start_producer(stack.bootstrap, stack.kind)
    started = time.monotonic()
    try:
        relay = OutboxRelay(
            pool, PostgresEventStore(pool, SOURCE), producer, topic, source=SOURCE, batch_size=5000
        )
        while await relay.checkpoint() < total:
            await relay.run_once()
            _progress("relay", await relay.checkpoint(), total, started)
    finally:
        await producer.stop()
    print(file=sys.stderr)
    return time.monotonic() - started


async def main_async(total: int) -> dict[str, Any]:
    with open_stack() as stack:
        url, pool = await stack.new_store(
            "audit", max_size=4, service_migrations="passend_assignment.migrations"
        )
        try:
            facts = await machine.describe(
                url, stack.database.embedded, stack.bootstrap, stack.broker.kind
            )
            gen_seconds = await generate(url, total)

            started = time.monotonic()
            report = await verify_chains(
                pool,
                "bench",
                progress=lambda n: _progress("verify", n, total, started),
                prefetch=5000,
            )
            verify_seconds = time.monotonic() - started
            print(file=sys.stderr)
            if not report.ok or report.events_checked != total:
                raise SystemExit(f"verification of the generated log failed: {report}")

            topic = new_topic("audit")
            relay_seconds = await relay_all(stack, pool, topic, total)

            projection = RenamedProjection(CaseBoard(), "audit_board", (topic,))
            started = time.monotonic()
            rebuilt = await rebuild(
                service="bench",
                projection=projection,
                pool=pool,
                bootstrap=stack.bootstrap,
                kind=stack.kind,
                progress=lambda p: _progress("rebuild", p.records, total, started),
            )
            rebuild_seconds = time.monotonic() - started
            print(file=sys.stderr)
            cases = await pool.fetchval(
                f"SELECT count(*) FROM rm_audit_board_{rebuilt.new_generation}.cases"
            )
        finally:
            await pool.close()
        return {
            "events": total,
            "streams": report.streams_checked,
            "machine": facts,
            "generate": {"seconds": gen_seconds, "events_per_s": total / gen_seconds},
            "verify": {"seconds": verify_seconds, "events_per_s": total / verify_seconds},
            "relay": {"seconds": relay_seconds, "events_per_s": total / relay_seconds},
            "rebuild": {
                "seconds": rebuild_seconds,
                "events_per_s": rebuilt.records / rebuild_seconds,
                "records": rebuilt.records,
                "cases_in_read_model": cases,
            },
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit_bench")
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the log")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    configure_logging("benchmark", level="warning", fmt="console")
    result = asyncio.run(main_async(args.events))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}")
    print(f"postgresql: {m['postgresql']}; broker: {m['broker']}")
    print(f"log: {result['events']:,} events in {result['streams']:,} streams")
    for step in ("generate", "verify", "relay", "rebuild"):
        figure = result[step]
        print(f"{step:<9} {figure['seconds']:8.1f} s  {figure['events_per_s']:>10,.0f} events/s")


if __name__ == "__main__":
    main()
