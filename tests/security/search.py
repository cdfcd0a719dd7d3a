"""Searching everything the system keeps for given strings: every table, every topic, text."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from passend_devstack.infra import Broker


def hits_in(text: str, needles: Iterable[str], where: str) -> list[str]:
    """``where: needle`` for each needle in ``text`` (case-insensitive)."""
    low = text.lower()
    return [f"{where}: {n!r}" for n in needles if n.lower() in low]


async def table_hits(db_url: str, needles: Iterable[str]) -> list[str]:
    """Every row of every table in every schema of the database, as JSON text, searched."""
    wanted = list(needles)
    conn = await asyncpg.connect(db_url)
    try:
        tables = await conn.fetch(
            "SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
        found = []
        for table in tables:
            name = table["t"]
            rows = await conn.fetch(f"SELECT to_jsonb(t)::text AS row FROM {name} t")
            for row in rows:
                found += hits_in(row["row"], wanted, f"{db_url.rsplit('/', 1)[-1]} {name}")
        return found
    finally:
        await conn.close()


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def text(self) -> str:
        parts = [self.key or b"", self.value or b""] + [v or b"" for _, v in self.headers]
        return "\n".join(p.decode("utf-8", "replace") for p in parts)


async def replay(broker: Broker, prefix: str = "passend.", timeout: float = 60.0) -> list[Record]:
    """Every record of every topic named ``prefix...``, from offset zero to the highwater."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        names = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        partitions = [
            TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Record] = []
        done: set[TopicPartition] = set()
        deadline = time.monotonic() + timeout
        while len(done) < len(partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"replay reached the end of {len(done)}/{len(partitions)}")
            batch = await consumer.getmany(timeout_ms=300)
            for got in batch.values():
                records += [
                    Record(
                        r.topic,
                        r.partition,
                        r.offset,
                        r.key,
                        r.value,
                        tuple((k, bytes(v)) for k, v in r.headers),
                    )
                    for r in got
                ]
            for tp in partitions:
                # The fetch highwater (end_offsets is not reliable on every broker).
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    done.add(tp)
        return records
    finally:
        await consumer.stop()
