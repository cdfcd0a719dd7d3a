"""The per-stream hash chain: canonical bytes of an event, link hashes and pure verification.

Each event's ``hash`` is ``sha256(prev_hash || canonical_bytes(event))``; a stream's first
event has 32 zero bytes as ``prev_hash``. The event's ``data`` is hashed as the exact JSON
text the store keeps (column type ``json`` keeps it byte for byte), written once at append
with sorted keys. The canonical bytes are the fields as PostgreSQL's binary ``COPY`` sends
them (:data:`CANONICAL_COLUMNS`), so the verifier hashes rows as they arrive, without
decoding them. Changing any stored field of any event breaks the link of that event, and
rewriting the hashes too breaks the link of the next one. ``recorded_at`` (when the store
took the event, what the audit's as-of view counts by) is covered too: the append sets it
itself, once for all events of one append, instead of leaving it to a column default.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from struct import Struct
from typing import Any
from uuid import UUID

import orjson

GENESIS: bytes = bytes(32)

# The columns the hash covers, in the order of the canonical bytes: each field is its
# length in bytes (-1 for NULL) and its binary form (int4 and int8 in network order, the
# uuid's 16 bytes, timestamptz as microseconds since 2000-01-01 UTC, text and json as UTF-8).
# ``recorded_at`` comes last so the fixed-size start of a row stays where the verifier reads it.
CANONICAL_COLUMNS = (
    "stream_version",
    "event_id",
    "occurred_at",
    "stream_id",
    "event_type",
    "swv",
    "actor",
    "correlation_id",
    "causation_id",
    "on_behalf_of",
    "data",
    "recorded_at",
)

# PostgreSQL's timestamp epoch: ``timestamptz_send`` gives microseconds since then.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# stream_version (int4), event_id (uuid), occurred_at (timestamptz), each with its length.
_FIXED = Struct(">iii16siq")
_MOMENT = Struct(">iq")
_LENGTH = Struct(">i")
_NULL = _LENGTH.pack(-1)
_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True)
class Link:
    """The fields of one stored event that the chain covers, plus its stored hashes."""

    event_id: UUID
    stream_id: str
    stream_version: int
    event_type: str
    data: bytes  # the stored JSON text, UTF-8
    swv: str
    actor: str
    correlation_id: str
    causation_id: str
    on_behalf_of: str | None
    occurred_at: datetime
    recorded_at: datetime
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


# Why a link breaks, in the order they are checked.
MISSING = "version follows {}: an event is missing"
PREV_DIFFERS = "prev_hash differs from the previous event's hash"
CHANGED = "hash differs from the hash of the stored fields: the event was changed"


def data_bytes(data: Any) -> bytes:
    """The JSON text stored for ``data`` and hashed: sorted keys, no whitespace, UTF-8.

    Tuples become lists and object keys strings, as they read back; NaN and infinities
    become null (as the contracts' JSON mode makes them).
    """
    return orjson.dumps(data, option=_JSON_OPTIONS)


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    raw = value.encode()
    return _LENGTH.pack(len(raw)) + raw


class Canonicalizer:
    """Canonical bytes of the events of one append: what they share is encoded once."""

    def __init__(
        self,
        *,
        stream_id: str,
        swv: str,
        actor: str,
        correlation_id: str,
        causation_id: str,
        on_behalf_of: str | None,
        recorded_at: datetime,
    ) -> None:
        self._stream = _text(stream_id)
        self._recorded = _MOMENT.pack(8, _micros(recorded_at))
        self._meta = b"".join(
            _text(v) for v in (swv, actor, correlation_id, causation_id, on_behalf_of)
        )
        self._types: dict[str, bytes] = {}
        self._moment: datetime | None = None
        self._micros = 0

    def __call__(
        self,
        event_id: UUID,
        stream_version: int,
        occurred_at: datetime,
        event_type: str,
        data: bytes,
    ) -> bytes:
        """The canonical bytes of one event of this stream and metadata."""
        if occurred_at is not self._moment:
            self._micros = _micros(occurred_at)
            self._moment = occurred_at
        kind = self._types.get(event_type)
        if kind is None:
            kind = self._types[event_type] = _text(event_type)
        return b"".join(
            (
                _FIXED.pack(4, stream_version, 16, event_id.bytes, 8, self._micros),
                self._stream,
                kind,
                self._meta,
                _LENGTH.pack(len(data)),
                data,
                self._recorded,
            )
        )


def _micros(moment: datetime) -> int:
    """``moment`` as PostgreSQL's binary timestamptz: microseconds since 2000-01-01 UTC."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; give an aware datetime")
    return (moment - _PG_EPOCH) // _MICROSECOND


def canonical_bytes(
    *,
    event_id: UUID,
    stream_id: str,
    stream_version: int,
    event_type: str,
    data: bytes,
    swv: str,
    actor: str,
    correlation_id: str,
    causation_id: str,
    on_behalf_of: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
) -> bytes:
    """The bytes an event's hash covers; ``data`` is the stored JSON text (:func:`data_bytes`).

    The fields of :data:`CANONICAL_COLUMNS`, each as its length and binary form: unambiguous,
    and byte for byte what a binary ``COPY`` of those columns sends for the stored row.
    """
    canonical = Canonicalizer(
        stream_id=stream_id,
        swv=swv,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
        on_behalf_of=on_behalf_of,
        recorded_at=recorded_at,
    )
    return canonical(event_id, stream_version, occurred_at, event_type, data)


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
            recorded_at=link.recorded_at,
        ),
    )


class ChainVerifier:
    """Checks links fed in (stream_id, stream_version) order; keeps O(1) state.

    The rules the database check (:mod:`passend_backbone.eventstore.verification`) applies
    to a whole store, for links held in memory.
    """

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
                link.stream_id, link.stream_version, MISSING.format(self._version), None, None
            )
        if link.prev_hash != self._hash:
            return BrokenLink(
                link.stream_id, link.stream_version, PREV_DIFFERS, self._hash, link.prev_hash
            )
        expected = hash_of(link)
        if link.hash != expected:
            return BrokenLink(link.stream_id, link.stream_version, CHANGED, expected, link.hash)
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
