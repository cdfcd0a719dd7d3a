"""Reading a topic from given offsets up to where it stood when the read began.

Each partition is read up to the highwater of the first fetch (the fetch highwater,
because ``end_offsets`` is wrong on some brokers), so a scan ends even while producers
go on. Used by the audit's topic check and by intake's erasure ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from passend_backbone.kafka_settings import client_security_settings

Keep = Callable[[ConsumerRecord[bytes, bytes]], bool]


@dataclass(frozen=True)
class Scan:
    """The records kept, and per partition the offset after the last one read."""

    records: list[ConsumerRecord[bytes, bytes]]
    next_offsets: dict[int, int]


async def scan_topic(
    bootstrap: str,
    topic: str,
    keep: Keep,
    *,
    start: Mapping[int, int] | None = None,
    within: float = 120.0,
) -> Scan:
    """The records of ``topic`` that ``keep`` accepts, from ``start`` (partition -> offset;
    offset 0 where not given, and where the partition holds fewer records than that: a
    topic made again) to each partition's highwater. An unknown topic scans as empty."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=5000,
        fetch_max_wait_ms=50,
        **client_security_settings(),
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return Scan([], {})
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        begin = {tp: (start or {}).get(tp.partition, 0) for tp in partitions}
        for tp, offset in begin.items():
            if offset:
                consumer.seek(tp, offset)
        kept: list[ConsumerRecord[bytes, bytes]] = []
        targets: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + within
        while True:
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if tp not in targets and highwater is not None:
                    targets[tp] = highwater
                    if begin[tp] > highwater:  # fewer records than before: read it all
                        begin[tp] = 0
                        consumer.seek(tp, 0)
            if len(targets) == len(partitions):
                positions = {tp: await consumer.position(tp) for tp in partitions}
                if all(positions[tp] >= targets[tp] for tp in partitions):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading topic {topic} took more than {within} s")
            batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                target = targets.setdefault(tp, consumer.highwater(tp) or 0)
                kept.extend(r for r in records if r.offset < target and keep(r))
        return Scan(kept, {tp.partition: targets[tp] for tp in partitions})
    finally:
        await consumer.stop()
