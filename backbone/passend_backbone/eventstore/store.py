"""EventStore: append with an expected version, read a stream, read everything after a position."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from passend_backbone import hoptrace
from passend_backbone.eventstore.hashchain import (
    GENESIS,
    BrokenLink,
    Canonicalizer,
    VerificationReport,
    data_bytes,
    link_hash,
)
from passend_backbone.eventstore.model import (
    ConcurrencyError,
    Metadata,
    NewEvent,
    RecordedEvent,
)
from passend_backbone.eventstore.verification import check_chains
from passend_backbone.logs import get_logger
from passend_backbone.texts.keys import PostgresTextKeys, TextKeys
from passend_backbone.texts.sealing import seal_events

log = get_logger(__name__)

# Work done in an append's transaction with what it recorded (``apply_in_transaction``).
InTransaction = Callable[[asyncpg.Connection, list[RecordedEvent]], Awaitable[None]]

# ``data::text`` so reads don't depend on the connection's json codec.
COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, data::text AS data, swv, "
    "actor, correlation_id, causation_id, on_behalf_of, occurred_at, prev_hash, hash"
)

# One round trip: see migration 004_events_append.sql.
_APPEND = """
SELECT out_outcome, out_version, out_positions, out_prev_hashes, out_hashes
FROM events_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""
# The same, and a NOTIFY on channel $15, which PostgreSQL delivers when (and only if) the
# appending transaction commits: see PostgresEventStore.notify_on_commit.
_APPEND_NOTIFYING = """
SELECT out_outcome, out_version, out_positions, out_prev_hashes, out_hashes,
       pg_notify($15, '') AS notified
FROM events_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""


def event_from_row(row: asyncpg.Record) -> RecordedEvent:
    """A :class:`RecordedEvent` from a row selected with :data:`COLUMNS`."""
    data = row["data"]
    return RecordedEvent(
        position=row["position"],
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        data=orjson.loads(data) if isinstance(data, str) else data,
        swv=row["swv"],
        actor=row["actor"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        on_behalf_of=row["on_behalf_of"],
        occurred_at=row["occurred_at"],
        prev_hash=bytes(row["prev_hash"]),
        hash=bytes(row["hash"]),
    )


def _recorded(**fields: Any) -> RecordedEvent:
    # The append makes one per event, and the frozen dataclass's __init__ sets each of
    # the 14 fields through object.__setattr__: filling __dict__ at once is 4x cheaper.
    # The result is the same (still frozen); test_eventstore compares it with a read.
    event: RecordedEvent = object.__new__(RecordedEvent)
    event.__dict__.update(fields)
    return event


def _shared_or_each(values: list[Any]) -> list[Any]:
    # One element when all are equal: events_append then uses it for every event, and
    # neither side encodes, sends and decodes the same value a hundred times.
    first = values[0]
    return [first] if all(v == first for v in values) else values


class PostgresEventStore:
    """One service's event store in PostgreSQL (table ``events`` in its own database)."""

    def __init__(self, pool: asyncpg.Pool, source: str, *, texts: TextKeys | None = None) -> None:
        self.pool = pool
        self.source = source  # CloudEvents source, e.g. "/passend/intake"
        # Where the free texts about a pupil get their case's key (passend_backbone.texts).
        self.texts: TextKeys = texts if texts is not None else PostgresTextKeys()
        self._listeners: list[Callable[[], None]] = []
        self._in_transaction: list[InTransaction] = []
        self._notify: str | None = None

    def notify_on_commit(self, channel: str | None) -> None:
        """From now on every append also sends ``NOTIFY channel`` (``None``: stop).

        PostgreSQL delivers it to the channel's listeners once the appending transaction
        committed (never for one rolled back; several appends of one transaction make one
        notification), in the same round trip as the append. The outbox relay listens,
        so it reads new events as soon as they are visible, however long the appending
        transaction took, instead of guessing when it commits.
        """
        self._notify = channel

    def add_append_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every append that wrote events (in the caller's
        transaction or its own, so they may not be committed yet).

        Called synchronously on the appending task: keep it short (set an event, say).
        What it raises is logged and swallowed, so it never fails an append.
        """
        self._listeners.append(callback)

    def apply_in_transaction(self, hook: InTransaction) -> None:
        """Await ``hook(conn, recorded)`` inside every append that wrote events, in its
        transaction, before it commits (an append without a caller's transaction gets one).

        For work that must commit with the events or not at all: the service's own read
        models (:class:`~passend_backbone.consumer.inline.InlineProjections`). What it
        raises fails the append, so a hook that may fail undoes its own work instead.
        """
        self._in_transaction.append(hook)

    def _appended(self) -> None:
        for callback in self._listeners:
            try:
                callback()
            except Exception:
                log.exception("append_listener_failed", callback=repr(callback))

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (0 = new).

        Raises ``ConcurrencyError`` and writes nothing on a mismatch. When ``conn`` is given
        the append joins that connection's open transaction (so a reactor can record the
        causing event as handled in the same transaction). An event whose ``event_id`` is
        already stored is a duplicate: nothing is written and the stored events among
        ``events`` are returned, in position order (reactors use deterministic ids for this).

        One round trip (a database function); a refused append, even one that lost a race,
        leaves the caller's transaction usable. ``occurred_at`` defaults to now (UTC).
        Listeners (:meth:`add_append_listener`) hear of every append that wrote events.
        """
        if not events:
            return []
        if expected_version < 0:
            raise ValueError(f"expected_version {expected_version} is negative; 0 = new stream")
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids):
            raise ValueError(f"one append holds the same event id twice: {ids}")
        started = hoptrace.now() if hoptrace.on else 0
        if conn is None:
            async with self.pool.acquire() as own:
                # Work for the append's transaction (``apply_in_transaction``) needs one.
                within = own.transaction() if self._in_transaction else contextlib.nullcontext()
                async with within:
                    recorded, wrote = await self._append(
                        own, stream_id, expected_version, events, meta, ids
                    )
                    await self._in_the_transaction(own, recorded, wrote)
        else:
            recorded, wrote = await self._append(
                conn, stream_id, expected_version, events, meta, ids
            )
            await self._in_the_transaction(conn, recorded, wrote)
        if started:
            hoptrace.record(
                "append",
                (meta.correlation_id,),
                t0=started,
                t1=hoptrace.now(),
                source=self.source,
                events=len(events),
                own_transaction=conn is None,
            )
        if wrote and self._listeners:
            self._appended()
        return recorded

    async def _in_the_transaction(
        self, conn: asyncpg.Connection, recorded: list[RecordedEvent], wrote: bool
    ) -> None:
        if wrote:
            for hook in self._in_transaction:
                await hook(conn, recorded)

    async def _append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        ids: list[UUID],
    ) -> tuple[list[RecordedEvent], bool]:
        now = datetime.now(UTC)
        # Free texts about a pupil are sealed before they are hashed: no row, WAL record,
        # message or backup ever holds them in clear.
        events = await seal_events(self.texts, conn, meta.swv, stream_id, events)
        canonical = Canonicalizer(
            stream_id=stream_id,
            swv=meta.swv,
            actor=meta.actor,
            correlation_id=meta.correlation_id,
            causation_id=meta.causation_id,
            on_behalf_of=meta.on_behalf_of,
            recorded_at=now,
        )
        texts: list[str] = []
        moments: list[datetime] = []
        canonicals: list[bytes] = []
        version = expected_version
        for event in events:
            occurred_at = event.occurred_at or now
            if occurred_at.tzinfo is None:
                raise ValueError(
                    f"occurred_at of {event.event_type} has no time zone; give an aware datetime"
                )
            # One dump: the stored text is the hashed text.
            raw = data_bytes(event.data)
            version += 1
            texts.append(raw.decode())
            moments.append(occurred_at)
            canonicals.append(
                canonical(event.event_id, version, occurred_at, event.event_type, raw)
            )
        hashes: list[bytes] | None = None
        if expected_version == 0:
            # A new stream starts from the genesis hash, so the chain is known here; the
            # database checks that the stream is new before it stores these hashes.
            hashes = []
            prev = GENESIS
            for link in canonicals:
                prev = link_hash(prev, link)
                hashes.append(prev)
        notify = self._notify
        row = await conn.fetchrow(
            _APPEND if notify is None else _APPEND_NOTIFYING,
            stream_id,
            expected_version,
            ids,
            _shared_or_each([e.event_type for e in events]),
            texts,
            _shared_or_each(moments),
            None if hashes is not None else canonicals,
            hashes,
            meta.swv,
            meta.actor,
            meta.correlation_id,
            meta.causation_id,
            meta.on_behalf_of,
            now,
            *(() if notify is None else (notify,)),
        )
        outcome = row["out_outcome"]
        if outcome == "duplicate":
            stored = await self._stored(conn, ids)
            if stored:
                return stored, False
            # Stored by a transaction this one's snapshot (repeatable read) can't see:
            # like any lost race, the caller retries and then finds the duplicate.
            actual = await self.stream_version(stream_id, conn=conn)
            raise ConcurrencyError(stream_id, expected_version, actual)
        if outcome == "conflict":
            raise ConcurrencyError(stream_id, expected_version, row["out_version"])
        if hashes is None:
            hashes = [bytes(h) for h in row["out_hashes"]]
            prevs = [bytes(h) for h in row["out_prev_hashes"]]
        else:
            prevs = [GENESIS, *hashes[:-1]]
        recorded = [
            _recorded(
                position=position,
                event_id=event.event_id,
                stream_id=stream_id,
                stream_version=version,
                event_type=event.event_type,
                # As a read gives it: lists for tuples, string keys (a contract payload's
                # JSON form is that already, and parsing it back would only copy it).
                data=event.data if event.json_native else orjson.loads(text),
                swv=meta.swv,
                actor=meta.actor,
                correlation_id=meta.correlation_id,
                causation_id=meta.causation_id,
                on_behalf_of=meta.on_behalf_of,
                occurred_at=occurred_at,
                prev_hash=prev,
                hash=link,
            )
            for version, position, event, text, occurred_at, prev, link in zip(
                range(expected_version + 1, row["out_version"] + 1),
                row["out_positions"],
                events,
                texts,
                moments,
                prevs,
                hashes,
                strict=True,
            )
        ]
        return recorded, True

    async def _stored(self, conn: asyncpg.Connection, ids: list[UUID]) -> list[RecordedEvent]:
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY position",
            ids,
        )
        return [event_from_row(r) for r in rows]

    async def read_stream(
        self,
        stream_id: str,
        *,
        as_of: datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[RecordedEvent]:
        """The stream's events in version order (only those that occurred up to ``as_of``)."""
        rows = await self._fetch(
            conn,
            f"SELECT {COLUMNS} FROM events WHERE stream_id = $1 "
            "AND ($2::timestamptz IS NULL OR occurred_at <= $2) ORDER BY stream_version",
            stream_id,
            as_of,
        )
        return [event_from_row(r) for r in rows]

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        """Committed events with position > ``after_position``, in position order.

        A later position may be visible while an earlier one's transaction is still open,
        so the last position returned is no checkpoint; the outbox relay handles that.
        """
        rows = await self._fetch(
            conn,
            f"SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            after_position,
            limit,
        )
        return [event_from_row(r) for r in rows]

    async def stream_version(self, stream_id: str, conn: asyncpg.Connection | None = None) -> int:
        """The stream's current version (0 when it has no events)."""
        sql = "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1"
        if conn is None:
            version: int = await self.pool.fetchval(sql, stream_id)
        else:
            version = await conn.fetchval(sql, stream_id)
        return version

    async def verify(self) -> VerificationReport:
        """Check every stream's hash chain (see :func:`verify`)."""
        return await verify(self.pool)

    async def _fetch(
        self, conn: asyncpg.Connection | None, sql: str, *args: Any
    ) -> list[asyncpg.Record]:
        if conn is None:
            rows: list[asyncpg.Record] = await self.pool.fetch(sql, *args)
        else:
            rows = await conn.fetch(sql, *args)
        return rows


async def verify(pool: asyncpg.Pool, *, prefetch: int = 2000) -> VerificationReport:
    """Walk every event in (stream_id, stream_version) order and check the hash chains.

    One read-only snapshot (see :func:`~passend_backbone.eventstore.verification.check_chains`),
    so memory stays flat however large the store is. The report names the first broken link.
    ``prefetch`` is kept for callers: the rows now come as one binary COPY.
    """
    del prefetch
    checked = await check_chains(pool)
    brk = checked.first_break
    return VerificationReport(
        streams_checked=checked.streams,
        events_checked=checked.events,
        first_break=None
        if brk is None
        else BrokenLink(brk.stream_id, brk.stream_version, brk.reason, brk.expected, brk.actual),
        broken_streams=checked.broken_streams,
    )
