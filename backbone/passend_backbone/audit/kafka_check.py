"""Checking a topic against a store: every stored event on the topic, nothing else.

Reads each partition from offset zero up to where it stood when the check began
(:mod:`passend_backbone.topic_scan`). A record published twice
(the relay delivers at least once) is no error; it is counted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from passend_backbone.topic_scan import scan_topic


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
    scan = await scan_topic(bootstrap, topic, lambda _record: True, within=within)
    ids: list[str] = []
    unreadable = 0
    for record in scan.records:
        headers = dict(record.headers or ())
        raw_id = headers.get("ce_id")
        if raw_id is None:
            unreadable += 1
            continue
        raw_swv = headers.get("ce_swv")
        if swv is not None and (raw_swv or b"").decode() != swv:
            continue
        ids.append(raw_id.decode())
    return ids, unreadable, scan.next_offsets


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
