"""Checking a store's hash chains: what was checked, and the first broken link with its position."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from passend_backbone.eventstore.hashchain import ChainVerifier, Link
from passend_backbone.eventstore.store import COLUMNS, event_from_row

# Whole store, or only the streams holding an event of one tenant. A stream is checked
# whole either way, so an event whose ``swv`` an attacker changed still breaks its link.
_ALL = f"SELECT {COLUMNS} FROM events ORDER BY stream_id, stream_version"
_TENANT = f"""
SELECT {COLUMNS} FROM events
WHERE stream_id IN (SELECT DISTINCT stream_id FROM events WHERE swv = $1)
ORDER BY stream_id, stream_version
"""


@dataclass(frozen=True)
class ChainBreak:
    """The first event whose stored hashes don't add up."""

    stream_id: str
    stream_version: int
    position: int
    event_id: str
    reason: str
    expected_hash: str | None
    found_hash: str | None


@dataclass(frozen=True)
class ChainReport:
    """What one store's verification checked and found."""

    service: str
    streams_checked: int
    events_checked: int
    broken_streams: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.first_break is None

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of ``GET /audit/verify``."""
        brk = self.first_break
        return {
            "service": self.service,
            "ok": self.ok,
            "streams_checked": self.streams_checked,
            "events_checked": self.events_checked,
            "broken_streams": self.broken_streams,
            "first_break": None if brk is None else vars(brk).copy(),
        }


def report_from_json(body: dict[str, Any]) -> ChainReport:
    """The inverse of :meth:`ChainReport.as_json` (the CLI reads the services' answers)."""
    brk = body.get("first_break")
    return ChainReport(
        service=str(body["service"]),
        streams_checked=int(body["streams_checked"]),
        events_checked=int(body["events_checked"]),
        broken_streams=int(body["broken_streams"]),
        first_break=None if brk is None else ChainBreak(**brk),
    )


async def verify_chains(
    pool: asyncpg.Pool,
    service: str,
    *,
    swv: str | None = None,
    prefetch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Walk every stream (of ``swv``'s cases, or all) in one read-only snapshot.

    Memory stays flat: a server-side cursor and O(1) verifier state. ``progress`` is called
    with the number of events checked every ``prefetch`` events.
    """
    verifier = ChainVerifier()
    first: ChainBreak | None = None
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        args: tuple[Any, ...] = () if swv is None else (swv,)
        cursor = conn.cursor(_ALL if swv is None else _TENANT, *args, prefetch=prefetch)
        async for row in cursor:
            event = event_from_row(row)
            found = verifier.feed(
                Link(
                    event_id=event.event_id,
                    stream_id=event.stream_id,
                    stream_version=event.stream_version,
                    event_type=event.event_type,
                    data=event.data,
                    swv=event.swv,
                    actor=event.actor,
                    correlation_id=event.correlation_id,
                    causation_id=event.causation_id,
                    on_behalf_of=event.on_behalf_of,
                    occurred_at=event.occurred_at,
                    prev_hash=event.prev_hash,
                    hash=event.hash,
                )
            )
            if found is not None and first is None:
                first = ChainBreak(
                    stream_id=found.stream_id,
                    stream_version=found.stream_version,
                    position=event.position,
                    event_id=str(event.event_id),
                    reason=found.reason,
                    expected_hash=found.expected.hex() if found.expected is not None else None,
                    found_hash=found.actual.hex() if found.actual is not None else None,
                )
            if progress is not None and verifier.events % prefetch == 0:
                progress(verifier.events)
    return ChainReport(
        service=service,
        streams_checked=verifier.streams,
        events_checked=verifier.events,
        broken_streams=verifier.broken_streams,
        first_break=first,
    )
