"""The per-stream hash chain: canonical bytes of an event, link hashes and pure verification.

Each event's ``hash`` is ``sha256(prev_hash || canonical_bytes(event))``; a stream's first
event has 32 zero bytes as ``prev_hash``. Changing any stored field of any event breaks
the link of that event, and rewriting the hashes too breaks the link of the next one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS: bytes = bytes(32)


@dataclass(frozen=True)
class Link:
    """The fields of one stored event that the chain covers, plus its stored hashes."""

    event_id: UUID
    stream_id: str
    stream_version: int
    event_type: str
    data: Mapping[str, Any]
    swv: str
    actor: str
    correlation_id: str
    causation_id: str
    on_behalf_of: str | None
    occurred_at: datetime
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True)
class BrokenLink:
    """Where the chain breaks: the first event whose stored hashes don't add up."""

    stream_id: str
    stream_version: int
    reason: str
    expected: bytes | None
    actual: bytes | None

    def __str__(self) -> str:
        exp = self.expected.hex() if self.expected is not None else "-"
        act = self.actual.hex() if self.actual is not None else "-"
        return (
            f"stream {self.stream_id!r} version {self.stream_version}: {self.reason} "
            f"(expected {exp}, found {act})"
        )


@dataclass(frozen=True)
class VerificationReport:
    """The outcome of checking every stream's chain."""

    streams_checked: int
    events_checked: int
    first_break: BrokenLink | None
    broken_streams: int

    @property
    def ok(self) -> bool:
        """True when every link of every stream holds."""
        return self.first_break is None


def _number(text: str) -> int | float:
    # jsonb stores numbers as exact decimals and prints them without exponent, so 2.0 comes
    # back as 2.0 but 1e100 as an integer: a number with an integral value is hashed as
    # that integer, any other as the shortest float that reads back the same.
    value = float(text)
    if value.is_integer():
        return int(Decimal(text))
    return value


def normal_json(text: str) -> Any:
    """Parse JSON text into the values the hash covers (integral numbers as ints)."""
    return json.loads(text, parse_float=_number)


def _dump(plain: Any) -> str:
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, ASCII, numbers by value.

    Tuples count as lists and object keys as strings, as they are once stored.
    """
    return _dump(normal_json(json.dumps(value, allow_nan=False)))


def iso_utc(moment: datetime) -> str:
    """``moment`` in UTC with microseconds, e.g. ``2027-03-02T09:15:00.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; give an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    *,
    event_id: UUID,
    stream_id: str,
    stream_version: int,
    event_type: str,
    data: Mapping[str, Any],
    swv: str,
    actor: str,
    correlation_id: str,
    causation_id: str,
    on_behalf_of: str | None,
    occurred_at: datetime,
    data_is_normal: bool = False,
) -> bytes:
    """The bytes an event's hash covers (independent of key order and number spelling).

    ``data_is_normal`` skips normalising ``data``: only for data from :func:`normal_json`.
    """
    plain = data if data_is_normal else normal_json(json.dumps(data, allow_nan=False))
    return _dump(
        {
            "event_id": str(event_id),
            "stream_id": stream_id,
            "stream_version": stream_version,
            "event_type": event_type,
            "data": plain,
            "swv": swv,
            "actor": actor,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "on_behalf_of": on_behalf_of,
            "occurred_at": iso_utc(occurred_at),
        }
    ).encode("ascii")


def link_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    """``sha256(prev_hash || canonical)``."""
    return hashlib.sha256(prev_hash + canonical).digest()


def hash_of(link: Link) -> bytes:
    """What ``link.hash`` must be, given its ``prev_hash`` and fields."""
    return link_hash(
        link.prev_hash,
        canonical_bytes(
            event_id=link.event_id,
            stream_id=link.stream_id,
            stream_version=link.stream_version,
            event_type=link.event_type,
            data=link.data,
            swv=link.swv,
            actor=link.actor,
            correlation_id=link.correlation_id,
            causation_id=link.causation_id,
            on_behalf_of=link.on_behalf_of,
            occurred_at=link.occurred_at,
        ),
    )


class ChainVerifier:
    """Checks links fed in (stream_id, stream_version) order; keeps O(1) state."""

    def __init__(self) -> None:
        self.streams = 0
        self.events = 0
        self.broken_streams = 0
        self.first_break: BrokenLink | None = None
        self._stream: str | None = None
        self._version = 0
        self._hash = GENESIS
        self._stream_broken = False

    def feed(self, link: Link) -> BrokenLink | None:
        """Check one link; returns the break it shows, if any (later links of a broken
        stream are counted but not reported again)."""
        if link.stream_id != self._stream:
            self._stream = link.stream_id
            self._version = 0
            self._hash = GENESIS
            self._stream_broken = False
            self.streams += 1
        self.events += 1
        found = self._check(link)
        self._version = link.stream_version
        self._hash = link.hash
        if found is None or self._stream_broken:
            return None
        self._stream_broken = True
        self.broken_streams += 1
        if self.first_break is None:
            self.first_break = found
        return found

    def _check(self, link: Link) -> BrokenLink | None:
        if link.stream_version != self._version + 1:
            return BrokenLink(
                link.stream_id,
                link.stream_version,
                f"version follows {self._version}: an event is missing",
                None,
                None,
            )
        if link.prev_hash != self._hash:
            return BrokenLink(
                link.stream_id,
                link.stream_version,
                "prev_hash differs from the previous event's hash",
                self._hash,
                link.prev_hash,
            )
        expected = hash_of(link)
        if link.hash != expected:
            return BrokenLink(
                link.stream_id,
                link.stream_version,
                "hash differs from the hash of the stored fields: the event was changed",
                expected,
                link.hash,
            )
        return None

    def report(self) -> VerificationReport:
        """What was checked so far, and the first break."""
        return VerificationReport(self.streams, self.events, self.first_break, self.broken_streams)


def verify_links(links: Iterable[Link]) -> VerificationReport:
    """Check links given in (stream_id, stream_version) order."""
    verifier = ChainVerifier()
    for link in links:
        verifier.feed(link)
    return verifier.report()
