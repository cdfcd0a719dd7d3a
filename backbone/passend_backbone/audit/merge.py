"""Merging the services' histories of one case into one causal order (pure).

An event comes after the event that caused it (``causation_id`` naming another event of
the case) and after the earlier versions of its own stream; among events free to go
next, the earliest goes first (then by service and position). Logged reads have no
causes and go by their time. ``correlation_id`` is kept on every row: it groups what one
user action set off.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

SERVICE_ORDER = ("intake", "assignment", "trajectory", "notifications")

Entry = Mapping[str, Any]


def moment(entry: Entry) -> datetime:
    """When the entry happened (an event's ``occurred_at``, a read's ``read_at``)."""
    return datetime.fromisoformat(str(entry.get("occurred_at") or entry["read_at"]))


def _tie_key(entry: Entry) -> tuple[Any, ...]:
    service = str(entry.get("service", ""))
    rank = SERVICE_ORDER.index(service) if service in SERVICE_ORDER else len(SERVICE_ORDER)
    return (
        moment(entry),
        0 if entry.get("kind") == "event" else 1,
        rank,
        service,
        int(entry.get("position") or entry.get("read_id") or 0),
    )


def _node(entry: Entry, index: int) -> str:
    if entry.get("kind") == "event":
        return f"event:{entry['event_id']}"
    return f"read:{entry.get('service')}:{entry.get('read_id', index)}"


def merge(entries: Iterable[Entry]) -> list[Entry]:
    """``entries`` of every service in causal order (see the module docstring)."""
    items = list(entries)
    nodes = [_node(e, i) for i, e in enumerate(items)]
    index_of = {node: i for i, node in enumerate(nodes)}
    after: dict[int, list[int]] = {i: [] for i in range(len(items))}
    waiting = [0] * len(items)

    def edge(first: int, then: int) -> None:
        if first != then:
            after[first].append(then)
            waiting[then] += 1

    streams: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for i, entry in enumerate(items):
        if entry.get("kind") != "event":
            continue
        cause = index_of.get(f"event:{entry.get('causation_id')}")
        if cause is not None:
            edge(cause, i)
        key = (str(entry.get("service")), str(entry.get("stream_id")))
        streams.setdefault(key, []).append((int(entry.get("stream_version") or 0), i))
    for versions in streams.values():
        versions.sort()
        for (_, first), (_, then) in itertools.pairwise(versions):
            edge(first, then)

    ready = [(_tie_key(items[i]), i) for i in range(len(items)) if waiting[i] == 0]
    heapq.heapify(ready)
    ordered: list[Entry] = []
    placed = [False] * len(items)
    while ready:
        _, i = heapq.heappop(ready)
        ordered.append(items[i])
        placed[i] = True
        for then in after[i]:
            waiting[then] -= 1
            if waiting[then] == 0:
                heapq.heappush(ready, (_tie_key(items[then]), then))
    # A cycle can only come from ids that lie; show those entries by time rather than drop them.
    rest = sorted((i for i in range(len(items)) if not placed[i]), key=lambda i: _tie_key(items[i]))
    ordered.extend(items[i] for i in rest)
    return ordered
