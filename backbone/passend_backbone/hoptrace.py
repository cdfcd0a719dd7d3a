"""Hop traces: when each step of an action's way through the services happened, per process.

Off unless ``PASSEND_HOP_TRACE`` names a file. Then every HTTP request, event store
append, outbox relay step and consumed batch writes one JSON line there with wall-clock
times in nanoseconds (``time.time_ns``, one clock for every process on the machine) and
the correlation ids it carried. One action keeps its correlation id from the HTTP request
through every event and reaction it causes, so the lines of all services, joined on it,
give the action's path hop by hop: handler, append, relay wake-up, produce, fetch,
consume, projection commit. The benchmark's latency stage reads them
(``benchmarks/stages/latency.py``); nothing else depends on them.

A span is a name, the correlation ids, and named moments (``t0`` its start, ``t1`` its
end, others in between), plus a few plain fields. Writing one costs a few microseconds:
each line is one ``write`` to a file opened for appending.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from typing import Any

import orjson

ENV_VAR = "PASSEND_HOP_TRACE"

now = time.time_ns


class _Trace:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, line: dict[str, Any]) -> None:
        os.write(self.fd, orjson.dumps(line) + b"\n")


_trace: _Trace | None = None
# Read by the instrumented code before it takes any time: one attribute test when off.
on = False


def configure(path: str | None) -> None:
    """Trace into ``path`` from now on (``None``: stop tracing)."""
    global _trace, on
    if _trace is not None:
        os.close(_trace.fd)
    _trace = _Trace(path) if path else None
    on = _trace is not None


def record(span: str, correlation_ids: Iterable[str], **moments_and_fields: Any) -> None:
    """One span: its name, the correlation ids it served, its moments and fields."""
    trace = _trace
    if trace is None:
        return
    ids = sorted({c for c in correlation_ids if c})
    if not ids:
        return
    # A trace must never fail the work it watches.
    with contextlib.suppress(OSError):
        trace.write({"span": span, "c": ids, **moments_and_fields})


configure(os.environ.get(ENV_VAR) or None)
