"""Checking a store's hash chains: what was checked, and the first broken link with its position."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from passend_backbone.eventstore.verification import check_chains


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
    """Check every stream (of ``swv``'s cases, or all) in one read-only snapshot.

    The same check as ``EventStore.verify``
    (:func:`~passend_backbone.eventstore.verification.check_chains`); memory stays flat.
    ``progress`` is called with the number of events checked about every ``prefetch`` events.
    """
    checked = await check_chains(pool, swv=swv, progress=progress, every=prefetch)
    brk = checked.first_break
    return ChainReport(
        service=service,
        streams_checked=checked.streams,
        events_checked=checked.events,
        broken_streams=checked.broken_streams,
        first_break=None
        if brk is None
        else ChainBreak(
            stream_id=brk.stream_id,
            stream_version=brk.stream_version,
            position=brk.position,
            event_id=brk.event_id,
            reason=brk.reason,
            expected_hash=brk.expected.hex() if brk.expected is not None else None,
            found_hash=brk.actual.hex() if brk.actual is not None else None,
        ),
    )
