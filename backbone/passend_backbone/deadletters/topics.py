"""Reading dead-letter topics from their start to their end, without a consumer group."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from passend_backbone.kafka_settings import client_security_settings


class ReadTimeout(RuntimeError):
    """The dead-letter topics did not reach their end in time (the broker is slow or away)."""


async def read_all(bootstrap: str, names: Sequence[str], seconds: float = 20.0) -> list[Any]:
    """Every record of the topics ``names`` that exist, from offset zero to the fetch highwater.

    ``end_offsets`` is not used: some brokers answer it wrongly; the highwater a fetch
    reports is right everywhere. Dead-letter topics are small (one record per poison).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        **client_security_settings(),
    )
    await consumer.start()
    try:
        existing = await consumer.topics()
        partitions = [
            TopicPartition(name, p)
            for name in dict.fromkeys(names)
            if name in existing
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + seconds
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for part in batch.values():
                records.extend(part)
            done = True
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if highwater is None or await consumer.position(tp) < highwater:
                    done = False
                    break
            if done and not batch:
                return records
            if time.monotonic() > deadline:
                raise ReadTimeout(
                    f"reading {len(partitions)} dead-letter partition(s) did not reach their "
                    f"end within {seconds:.0f} s"
                )
    finally:
        await consumer.stop()
