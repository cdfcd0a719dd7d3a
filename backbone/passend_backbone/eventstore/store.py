"""EventStore: append with an expected version, read a stream, read everything after a position."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.eventstore.hashchain import (
    ChainVerifier,
    Link,
    VerificationReport,
    canonical_bytes,
    normal_json,
)
from passend_backbone.eventstore.model import (
    ConcurrencyError,
    Metadata,
    NewEvent,
    RecordedEvent,
)

# ``data::text`` so reads don't depend on the connection's jsonb codec.
COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, data::text AS data, swv, "
    "actor, correlation_id, causation_id, on_behalf_of, occurred_at, prev_hash, hash"
)

# One round trip: see migration 004_events_append.sql.
_APPEND = """
SELECT out_outcome, out_version, out_position, out_prev_hash, out_hash
FROM events_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
        data=json.loads(data) if isinstance(data, str) else data,
        swv=row["swv"],
        actor=row["actor"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        on_behalf_of=row["on_behalf_of"],
        occurred_at=row["occurred_at"],
        prev_hash=bytes(row["prev_hash"]),
        hash=bytes(row["hash"]),
    )


def _link(event: RecordedEvent) -> Link:
    return Link(
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


class EventStore:
    """One service's event store (table ``events`` in its own database)."""

    def __init__(self, pool: asyncpg.Pool, source: str) -> None:
        self.pool = pool
        self.source = source  # CloudEvents source, e.g. "/passend/intake"

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
        """
        if not events:
            return []
        if expected_version < 0:
            raise ValueError(f"expected_version {expected_version} is negative; 0 = new stream")
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids):
            raise ValueError(f"one append holds the same event id twice: {ids}")
        if conn is None:
            async with self.pool.acquire() as own:
                return await self._append(own, stream_id, expected_version, events, meta, ids)
        return await self._append(conn, stream_id, expected_version, events, meta, ids)

    async def _append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        ids: list[UUID],
    ) -> list[RecordedEvent]:
        now = datetime.now(UTC)
        texts: list[str] = []
        datas: list[dict[str, Any]] = []
        moments: list[datetime] = []
        canonicals: list[bytes] = []
        for offset, event in enumerate(events, start=1):
            occurred_at = event.occurred_at or now
            if occurred_at.tzinfo is None:
                raise ValueError(
                    f"occurred_at of {event.event_type} has no time zone; give an aware datetime"
                )
            text = json.dumps(event.data, allow_nan=False)
            # What jsonb will hold (lists for tuples, string keys), so the hash matches reads.
            data: dict[str, Any] = normal_json(text)
            texts.append(text)
            datas.append(data)
            moments.append(occurred_at)
            canonicals.append(
                canonical_bytes(
                    event_id=event.event_id,
                    stream_id=stream_id,
                    stream_version=expected_version + offset,
                    event_type=event.event_type,
                    data=data,
                    swv=meta.swv,
                    actor=meta.actor,
                    correlation_id=meta.correlation_id,
                    causation_id=meta.causation_id,
                    on_behalf_of=meta.on_behalf_of,
                    occurred_at=occurred_at,
                    data_is_normal=True,
                )
            )
        rows = await conn.fetch(
            _APPEND,
            stream_id,
            expected_version,
            ids,
            [e.event_type for e in events],
            texts,
            moments,
            canonicals,
            meta.swv,
            meta.actor,
            meta.correlation_id,
            meta.causation_id,
            meta.on_behalf_of,
        )
        outcome = rows[0]["out_outcome"]
        if outcome == "duplicate":
            stored = await self._stored(conn, ids)
            if stored:
                return stored
            # Stored by a transaction this one's snapshot (repeatable read) can't see:
            # like any lost race, the caller retries and then finds the duplicate.
            actual = await self.stream_version(stream_id, conn=conn)
            raise ConcurrencyError(stream_id, expected_version, actual)
        if outcome == "conflict":
            raise ConcurrencyError(stream_id, expected_version, rows[0]["out_version"])
        return [
            RecordedEvent(
                position=row["out_position"],
                event_id=event.event_id,
                stream_id=stream_id,
                stream_version=row["out_version"],
                event_type=event.event_type,
                data=data,
                swv=meta.swv,
                actor=meta.actor,
                correlation_id=meta.correlation_id,
                causation_id=meta.causation_id,
                on_behalf_of=meta.on_behalf_of,
                occurred_at=occurred_at,
                prev_hash=bytes(row["out_prev_hash"]),
                hash=bytes(row["out_hash"]),
            )
            for row, event, data, occurred_at in zip(rows, events, datas, moments, strict=True)
        ]

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

    Streams through a server-side cursor in one read-only snapshot, so memory stays flat
    however large the store is. The report names the first broken link.
    """
    verifier = ChainVerifier()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor(
            f"SELECT {COLUMNS} FROM events ORDER BY stream_id, stream_version",
            prefetch=prefetch,
        )
        async for row in cursor:
            verifier.feed(_link(event_from_row(row)))
    return verifier.report()
