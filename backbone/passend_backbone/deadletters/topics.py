"""Reading dead-letter topics from their start to their end, without a consumer group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from passend_backbone.topic_scan import scan_topic


class ReadTimeout(RuntimeError):
    """The dead-letter topics did not reach their end in time (the broker is slow or away)."""


async def read_all(bootstrap: str, names: Sequence[str], seconds: float = 20.0) -> list[Any]:
    """Every record of the topics ``names`` that exist, from offset zero to where each
    stood when the read began (:func:`passend_backbone.topic_scan.scan_topic`). Dead-letter
    topics are small (one record per poison)."""
    records: list[Any] = []
    for name in dict.fromkeys(names):
        try:
            scan = await scan_topic(bootstrap, name, lambda _record: True, within=seconds)
        except TimeoutError as exc:
            raise ReadTimeout(
                f"reading dead-letter topic {name} did not reach its end within {seconds:.0f} s"
            ) from exc
        records.extend(scan.records)
    return records
