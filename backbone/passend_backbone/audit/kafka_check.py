"""Checking a topic against a store: every stored event on the topic, nothing else.

Reads each partition from offset zero up to the highwater of the first fetch (the fetch
highwater, because ``end_offsets`` is wrong on some brokers). A record published twice
(the relay delivers at least once) is no error; it is counted.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition


@dataclass(frozen=True)
class TopicReport:
    """How a topic's records compare to the store's event ids."""

    topic: str
    records: int
    missing: tuple[str, ...]  # in the store, not on the topic
    extra: tuple[str, ...]  # on the topic, not in the store
    duplicates: int
    unreadable: int = 0
    partitions: dict[int, int] = field(default_factory=dict)  # partition -> highwater

    @property
    def ok(self) -> bool:
        """Nothing missing, nothing extra, nothing unreadable."""
        return not self.missing and not self.extra and not self.unreadable


async def topic_event_ids(
    bootstrap: str, topic: str, *, swv: str | None = None, within: float = 120.0
) -> tuple[list[str], int, dict[int, int]]:
    """The ``ce_id`` of every record (of tenant ``swv``, or all), unreadable count, highwaters."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=5000,
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return [], 0, {}
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ids: list[str] = []
        unreadable = 0
        targets: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + within
        while True:
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if tp not in targets and highwater is not None:
                    targets[tp] = highwater
            if len(targets) == len(partitions):
                positions = {tp: await consumer.position(tp) for tp in partitions}
                if all(positions[tp] >= targets[tp] for tp in partitions):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading topic {topic} took more than {within} s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                target = targets.setdefault(tp, consumer.highwater(tp) or 0)
                for record in records:
                    if record.offset >= target:
                        continue
                    headers = dict(record.headers or ())
                    raw_id = headers.get("ce_id")
                    if raw_id is None:
                        unreadable += 1
                        continue
                    raw_swv = headers.get("ce_swv")
                    if swv is not None and (raw_swv or b"").decode() != swv:
                        continue
                    ids.append(raw_id.decode())
        return ids, unreadable, {tp.partition: targets[tp] for tp in partitions}
    finally:
        await consumer.stop()


def compare(
    topic: str,
    stored: Collection[str],
    on_topic: Collection[str],
    *,
    unreadable: int = 0,
    partitions: dict[int, int] | None = None,
) -> TopicReport:
    """The report for one topic (pure)."""
    store_set, topic_set = set(stored), set(on_topic)
    return TopicReport(
        topic=topic,
        records=len(on_topic),
        missing=tuple(sorted(store_set - topic_set)),
        extra=tuple(sorted(topic_set - store_set)),
        duplicates=len(on_topic) - len(topic_set),
        unreadable=unreadable,
        partitions=partitions or {},
    )


async def check_topic(
    bootstrap: str, topic: str, stored: Collection[str], *, swv: str | None = None
) -> TopicReport:
    """Read ``topic`` and compare it with the store's event ids."""
    ids, unreadable, partitions = await topic_event_ids(bootstrap, topic, swv=swv)
    return compare(topic, stored, ids, unreadable=unreadable, partitions=partitions)
