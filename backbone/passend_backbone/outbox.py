"""The outbox relay: publishes every stored event to the service's topic, in position order.

Positions come from a sequence, so a missing position may belong to a transaction that
is still open (it took its position earlier but commits later) or to one that rolled
back. The relay publishes only the contiguous prefix after its checkpoint. At the first
gap it notes ``xmax`` of the current snapshot (every transaction that had taken a
position up to the highest visible one has an id below it, because an append owns its
transaction id before it takes positions). Once the snapshot ``xmin`` has reached that
value every such transaction has ended; a position still missing then was rolled back
and is skipped. So an event whose transaction commits late is never skipped.

A transaction left open anywhere on the server holds ``xmin`` back, which delays
publishing past a rolled-back position until it ends: late, never lost. Each case's
events stay in version order, as a stream's later version always has the later position.

The checkpoint advances only after the broker acknowledged the whole batch, so a relay
killed at any point resumes from its checkpoint: an event may be published twice, never
zero times. Consumers are idempotent by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from passend_backbone.eventstore.store import COLUMNS, EventStore, event_from_row

# The snapshot columns come from the same statement (same snapshot) as the rows.
_FETCH = f"""
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS snap_xmin,
       pg_snapshot_xmax(pg_current_snapshot())::text AS snap_xmax,
       {COLUMNS}
FROM events WHERE position > $1 ORDER BY position LIMIT $2
"""

_READ_CHECKPOINT = "SELECT position FROM outbox_checkpoint WHERE topic = $1"

_WRITE_CHECKPOINT = """
INSERT INTO outbox_checkpoint (topic, position) VALUES ($1, $2)
ON CONFLICT (topic) DO UPDATE SET position = excluded.position, updated_at = clock_timestamp()
"""

# One relay per topic at a time, even with several instances of a service running.
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('passend.outbox:' || $1))"
_LOCK_WAIT = "SELECT pg_advisory_xact_lock(hashtext('passend.outbox:' || $1))"

_MAX_BACKOFF = 5.0

# Java-compatible murmur2 on the key, as every Kafka client places keyed records.
_PARTITIONER = DefaultPartitioner()


@dataclass(frozen=True)
class _Horizon:
    """Transactions that took positions up to ``covers`` all have ids below ``xmax``."""

    xmax: int
    covers: int


@dataclass(frozen=True)
class _Step:
    published: int
    checkpoint: int
    advanced: bool
    full: bool


class OutboxRelay:
    """Publishes one service's events from its store to its topic (at least once, in order)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        source: str,
        batch_size: int = 1000,
        poll_interval: float = 0.05,
        log: Any = None,
        on_published: Callable[[Sequence[asyncpg.Record]], None] | None = None,
    ) -> None:
        self.pool = pool
        self.store = store
        self.producer = producer
        self.topic = topic
        self.source = source
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.log = log if log is not None else structlog.get_logger("passend.outbox")
        self._horizon: _Horizon | None = None
        # Told the rows of each batch once its checkpoint committed (the metrics count them).
        self._on_published = on_published

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; the batch in flight then finishes first.

        Broker or database failures are logged and retried with backoff; nothing is
        skipped because of them.
        """
        backoff = self.poll_interval
        while not stop.is_set():
            try:
                step = await self._step()
            except Exception as exc:  # any failure: retry from the checkpoint
                self.log.warning("outbox_relay_failed", topic=self.topic, error=repr(exc))
                await self._wait(stop, backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = self.poll_interval
            if not (step.full and step.advanced):  # caught up, or waiting at a gap
                await self._wait(stop, self.poll_interval)

    async def run_once(self) -> int:
        """Publish what can be published now (up to ``batch_size``); returns how many."""
        return (await self._step()).published

    async def reset(self, to_position: int = 0) -> None:
        """Publish again everything after ``to_position`` (lost or rebuilt topics)."""
        if to_position < 0:
            raise ValueError(f"to_position {to_position} is negative")
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK_WAIT, self.topic)
            await conn.execute(_WRITE_CHECKPOINT, self.topic, to_position)
        self._horizon = None
        self.log.info("outbox_reset", topic=self.topic, position=to_position)

    async def checkpoint(self) -> int:
        """The position up to which everything is on the broker (or was rolled back)."""
        value = await self.pool.fetchval(_READ_CHECKPOINT, self.topic)
        return int(value or 0)

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    async def _step(self) -> _Step:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(_LOCK, self.topic):
                return _Step(0, -1, advanced=False, full=False)  # another relay is at work
            checkpoint = int(await conn.fetchval(_READ_CHECKPOINT, self.topic) or 0)
            rows = await conn.fetch(_FETCH, checkpoint, self.batch_size)
            ready, upto = self._contiguous(checkpoint, rows)
            if ready:
                await self._publish(ready)
            if upto != checkpoint:
                # Only after the broker acknowledged every record of the batch.
                await conn.execute(_WRITE_CHECKPOINT, self.topic, upto)
        if ready and self._on_published is not None:
            self._on_published(ready)
        return _Step(
            len(ready), upto, advanced=upto != checkpoint, full=len(rows) == self.batch_size
        )

    def _contiguous(
        self, checkpoint: int, rows: Sequence[asyncpg.Record]
    ) -> tuple[list[asyncpg.Record], int]:
        """The rows to publish now and the checkpoint after them."""
        if not rows:
            return [], checkpoint
        xmin = int(rows[0]["snap_xmin"])
        xmax = int(rows[0]["snap_xmax"])
        highest = int(rows[-1]["position"])
        expected = checkpoint + 1
        ready: list[asyncpg.Record] = []
        for row in rows:
            position = int(row["position"])
            if position != expected:
                expected = self._past_gap(expected, position, xmin, xmax, highest)
                if position != expected:
                    break
            ready.append(row)
            expected = position + 1
        return ready, expected - 1

    def _past_gap(self, missing: int, present: int, xmin: int, xmax: int, highest: int) -> int:
        """The next position to expect, given positions ``missing..present-1`` are absent."""
        horizon = self._horizon
        if horizon is None or horizon.covers < missing:
            # Every transaction that took one of them has an id below this xmax.
            self._horizon = _Horizon(xmax, highest)
            return missing
        if xmin < horizon.xmax:
            return missing  # a transaction that may hold them is still running: wait
        # All of them ended and the rows are not visible: they rolled back.
        resume = min(present, horizon.covers + 1)
        self.log.info(
            "outbox_skipped_rolled_back_positions",
            topic=self.topic,
            first=missing,
            last=resume - 1,
        )
        if resume != present:
            self._horizon = _Horizon(xmax, highest)
        return resume

    async def _publish(self, rows: Sequence[asyncpg.Record]) -> None:
        # One record batch per partition, filled in position order and sent whole; then
        # wait for every acknowledgement (acks=all). A partition's batches go out one
        # after the other, so each case (one key, one partition) keeps its order.
        partitions = sorted(await self.producer.partitions_for(self.topic))
        partition_of: dict[bytes, int] = {}
        open_batches: dict[int, Any] = {}
        pending: list[asyncio.Future[Any]] = []
        for row in rows:
            key, headers, value = event_from_row(row).to_cloudevent(self.source).to_kafka()
            partition = partition_of.get(key)
            if partition is None:
                partition = partition_of[key] = _PARTITIONER(key, partitions, partitions)
            batch = open_batches.get(partition)
            if batch is None:
                batch = open_batches[partition] = self.producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                pending.append(await self._send(batch, partition))
                batch = open_batches[partition] = self.producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise ValueError(
                        f"event at position {row['position']} is larger than a record batch "
                        "(max_batch_size): raise the producer's batch size"
                    )
        for partition, batch in open_batches.items():
            pending.append(await self._send(batch, partition))
        await asyncio.gather(*pending)

    async def _send(self, batch: Any, partition: int) -> asyncio.Future[Any]:
        batch.close()  # nothing else may join it
        future: asyncio.Future[Any] = await self.producer.send_batch(
            batch, self.topic, partition=partition
        )
        return future
