"""A municipality's own list of Team NO escalations and decisions, kept from its integration topic.

Run against the dev stack (with the integration gateway running)::

    python consumerkit/examples/municipality_escalations.py \\
        --bootstrap 127.0.0.1:9092 --municipality GM0622 --db escalations.sqlite

It reads ``passend.integration.<municipality>`` from the start the first time, and goes on
where it stopped after a restart. Every event is applied in one SQLite transaction that
also records its id, so an event that comes twice (at-least-once) changes nothing twice.
A record that is not a valid event, or an event this code fails on three times, is kept
in ``rejected_messages`` for a person to look at; the database being busy or away is
waited out, and sets nothing aside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker

from passend_consumerkit import (
    DeliveryPolicy,
    Failure,
    Received,
    is_transient_kafka,
    subscribe,
)
from passend_consumerkit.broker import BrokerKind
from passend_contracts import topics
from passend_contracts.events.trajectory import EscalatedToTeamNO, TeamNODecisionRecorded

SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    escalation_key TEXT PRIMARY KEY,  -- the escalation id (or the event id without one)
    case_id        TEXT NOT NULL,
    municipality   TEXT,
    reasons        TEXT,              -- JSON list
    draft_plan     TEXT,
    escalated_at   TEXT,
    decision       TEXT,
    assignment     TEXT,
    provider       TEXT,
    decided_at     TEXT
);
CREATE TABLE IF NOT EXISTS handled_events (
    event_id   TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    handled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected_messages (  -- for a person to look at
    topic     TEXT NOT NULL,
    partition INTEGER NOT NULL,
    "offset"  INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    value     BLOB,
    PRIMARY KEY (topic, partition, "offset")
);
"""

log = logging.getLogger("municipality_escalations")


@dataclass
class Progress:
    """What a run saw: events handed over, applied for the first time, duplicates skipped,
    and attempts that failed (and were tried again)."""

    seen: int = 0
    applied: int = 0
    duplicates: int = 0
    failed: int = 0


# How long one statement waits for another writer of the file before it gives up; the
# kit then tries again after a back-off, for as long as the file stays locked.
BUSY_TIMEOUT_SECONDS = 1.0


def open_db(path: str | Path) -> sqlite3.Connection:
    # Used from one worker thread at a time (the kit hands over one event at a time), so
    # the event loop keeps its heartbeats going while SQLite waits for a lock.
    db = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
    )
    db.executescript(SCHEMA)
    return db


def apply(db: sqlite3.Connection, received: Received) -> bool:
    """Apply one event once, in one transaction with its id: False when handled before."""
    payload = received.payload
    db.execute("BEGIN IMMEDIATE")
    try:
        first_time = db.execute(
            "INSERT INTO handled_events VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (str(received.id), received.event.type, datetime.now(UTC).isoformat()),
        ).rowcount
        if first_time and isinstance(payload, EscalatedToTeamNO):
            _escalated(db, received, payload)
        elif first_time and isinstance(payload, TeamNODecisionRecorded):
            _decided(db, received, payload)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return bool(first_time)


def keep_rejected(db: sqlite3.Connection, failure: Failure) -> None:
    """Keep a record the kit set aside (not a valid event, or failing every time)."""
    record = failure.record
    db.execute(
        "INSERT OR IGNORE INTO rejected_messages VALUES (?, ?, ?, ?, ?)",
        (
            record.topic,
            record.partition,
            record.offset,
            f"{failure.stage}: {failure.reason}",
            record.value,
        ),
    )


_PASSING = ("locked", "busy", "unable to open", "disk i/o")


def transient(exc: BaseException) -> bool:
    """The broker or our own database briefly away: wait and try again, set nothing aside."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(words in str(exc).lower() for words in _PASSING)
    return is_transient_kafka(exc)


def _escalated(db: sqlite3.Connection, received: Received, e: EscalatedToTeamNO) -> None:
    # An upsert: a decision that arrived first already made the row.
    db.execute(
        "INSERT INTO escalations (escalation_key, case_id, municipality, reasons, draft_plan, "
        "escalated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (escalation_key) DO UPDATE SET "
        "municipality = excluded.municipality, reasons = excluded.reasons, "
        "draft_plan = excluded.draft_plan, escalated_at = excluded.escalated_at",
        (
            str(e.escalation_id or received.id),
            str(e.case_id),
            e.municipality,
            json.dumps([str(r) for r in e.reasons]),
            e.draft_plan,
            e.escalated_at.isoformat(),
        ),
    )


def _decided(db: sqlite3.Connection, received: Received, d: TeamNODecisionRecorded) -> None:
    key = str(d.escalation_id) if d.escalation_id else None
    if key is None:  # older decisions name no escalation: the case's open one
        row = db.execute(
            "SELECT escalation_key FROM escalations WHERE case_id = ? AND decision IS NULL "
            "ORDER BY escalated_at DESC LIMIT 1",
            (str(d.case_id),),
        ).fetchone()
        key = row[0] if row else str(received.id)
    db.execute(
        "INSERT INTO escalations (escalation_key, case_id, decision, assignment, provider, "
        "decided_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (escalation_key) DO UPDATE SET "
        "decision = excluded.decision, assignment = excluded.assignment, "
        "provider = excluded.provider, decided_at = excluded.decided_at",
        (key, str(d.case_id), d.decision, d.assignment, d.provider, d.decided_at.isoformat()),
    )


async def run(
    bootstrap: str,
    municipality: str,
    db_path: str | Path,
    *,
    kind: BrokerKind = "tansu",
    group_id: str | None = None,
    stop: asyncio.Event | None = None,
    progress: Progress | None = None,
    retries: int = 3,
    topic_prefix: str = "",
    **broker_options: Any,
) -> None:
    """Keep the escalation list of ``municipality`` until ``stop`` is set.

    ``topic_prefix`` is what the Passend deployment puts before its topic names (its
    ``KAFKA_TOPIC_PREFIX``; usually nothing). ``broker_options`` go to
    ``faststream.kafka.KafkaBroker`` (``security=``, ...).
    """
    db = open_db(db_path)
    progress = progress if progress is not None else Progress()

    async def handle(received: Received) -> None:
        progress.seen += 1
        try:
            first_time = await asyncio.to_thread(apply, db, received)
        except Exception:
            progress.failed += 1
            raise  # the kit tries it again: after a back-off, or set aside after `retries`
        if first_time:
            progress.applied += 1
        else:
            progress.duplicates += 1

    async def reject(failure: Failure) -> None:
        # Kept, not dropped: someone looks at it, and asks Passend if it recurs.
        record = failure.record
        log.error(
            "rejected message %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            failure.reason,
        )
        await asyncio.to_thread(keep_rejected, db, failure)

    broker = KafkaBroker(bootstrap, logger=log, **broker_options)
    subscription = subscribe(
        broker,
        topics=[topic_prefix + topics.integration(municipality)],
        # Your principal may use only group ids under your own prefix.
        group_id=group_id or f"{topics.region_key(municipality)}.escalations",
        kind=kind,
        event_types=[EscalatedToTeamNO, TeamNODecisionRecorded],
        handler=handle,
        policy=DeliveryPolicy(retries=retries, transient=transient, set_aside=reject),
    )
    try:
        await broker.start()
        await (stop or asyncio.Event()).wait()
    finally:
        subscription.stop()
        await broker.stop()
        db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--municipality", required=True, help="CBS code, e.g. GM0622 (Vlaardingen)")
    parser.add_argument("--db", default="escalations.sqlite", help="SQLite file")
    parser.add_argument(
        "--broker-kind",
        choices=["kafka", "tansu"],
        default=os.environ.get("KAFKA_BROKER_KIND", "tansu"),
        help="tansu for the dev stack (default), kafka in production",
    )
    parser.add_argument("--group", help="consumer group (default: <municipality>.escalations)")
    parser.add_argument(
        "--topic-prefix",
        default=os.environ.get("KAFKA_TOPIC_PREFIX", ""),
        help="what the Passend deployment puts before its topic names (usually nothing)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        progress = Progress()
        await run(
            args.bootstrap,
            args.municipality,
            args.db,
            kind=args.broker_kind,
            group_id=args.group,
            stop=stop,
            progress=progress,
            topic_prefix=args.topic_prefix,
        )
        log.info("stopped: %s", progress)

    asyncio.run(until_signalled())


if __name__ == "__main__":
    main()
