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

Speed: each record is built straight from its row (``outbox_records``, byte for byte the
contract's), a batch is read and sent in chunks so the broker takes one chunk while the
next is read and encoded, and a committed append wakes the relay instead of leaving it
to the next poll: the relay LISTENs on a connection of its own and the store's appends
NOTIFY (``PostgresEventStore.notify_on_commit``), which PostgreSQL delivers at commit,
so the relay reads an event as soon as it is visible. Where it can't listen (a pool too
small to spare a connection, a store without notifications) an append in this process
wakes it before its commit, and it looks again after short, doubling delays.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio import FIRST_COMPLETED
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from passend_backbone import hoptrace
from passend_backbone.eventstore.port import EventStore
from passend_backbone.relay.records import COLUMNS, RecordBuilder, partition_of

# The snapshot columns come from the same statement (same snapshot) as the rows.
_FETCH = f"""
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS snap_xmin,
       pg_snapshot_xmax(pg_current_snapshot())::text AS snap_xmax,
       {COLUMNS}
FROM events WHERE position > $1 ORDER BY position LIMIT $2
"""

_READ_CHECKPOINT = "SELECT position FROM outbox_checkpoint WHERE topic = $1"

# Anything after the checkpoint, or a checkpoint moved by someone else (a reset)?
# Not ``EXISTS (... WHERE position > $1)``: its plan is a sequential scan that stops at
# the first match, and the new rows are at the heap's end, so every probe read the whole
# table. ``ORDER BY position LIMIT 1`` reads one entry of the primary key.
_NEWS = """
SELECT (SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT 1) IS NOT NULL
    OR coalesce((SELECT position FROM outbox_checkpoint WHERE topic = $2), 0) <> $1
"""

_WRITE_CHECKPOINT = """
INSERT INTO outbox_checkpoint (topic, position) VALUES ($1, $2)
ON CONFLICT (topic) DO UPDATE SET position = excluded.position, updated_at = clock_timestamp()
"""

# One relay per topic at a time, even with several instances of a service running.
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('passend.outbox:' || $1))"
_LOCK_WAIT = "SELECT pg_advisory_xact_lock(hashtext('passend.outbox:' || $1))"

_MAX_BACKOFF = 5.0

# The first delay before looking again after a wake found nothing new (doubles).
_FIRST_CHASE = 0.002

# The channel a store's appends notify on commit (one per database: a service's store).
CHANNEL = "passend_events_committed"
# The relay listens only on a pool that can spare a connection for it and still step.
_MIN_POOL_TO_LISTEN = 3


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


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
        batch_size: int = 4000,
        fetch_size: int = 500,
        poll_interval: float = 0.25,
        log: Any = None,
        on_published: Callable[[Sequence[asyncpg.Record]], None] | None = None,
    ) -> None:
        self.pool = pool
        self.store = store
        self.producer = producer
        self.topic = topic
        self.source = source
        self.batch_size = batch_size  # rows per checkpoint (one transaction)
        self.fetch_size = fetch_size  # rows per read, encoded and sent as one chunk
        self.poll_interval = poll_interval
        self.log = log if log is not None else structlog.get_logger("passend.outbox")
        self._records = RecordBuilder(source)
        self._horizon: _Horizon | None = None
        # Set by the store after every append in this process (possibly before its commit).
        self._wake = asyncio.Event()
        self._woken_at = 0  # when the last append woke it (hop traces only)
        self._listening = False
        # The connection LISTENing for committed appends, while there is one.
        self._listener: asyncpg.Connection | None = None
        self._listen_again_at = 0.0
        # Told the rows of each batch once its checkpoint committed (the metrics count them).
        self._on_published = on_published

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; the batch in flight then finishes first.

        Broker or database failures are logged and retried with backoff; nothing is
        skipped because of them. A committed append wakes the relay at once (see the
        module's docstring); appends elsewhere are found as well, by polling.
        """
        if not self._listening:
            self.store.add_append_listener(self._woken)
            self._listening = True
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await self._relay(stop, stopping)
        finally:
            stopping.cancel()
            await self._unlisten()

    async def _relay(self, stop: asyncio.Event, stopping: asyncio.Future[Any]) -> None:
        backoff = self.poll_interval
        # After a wake the appending transaction may not have committed yet: poll again
        # after short, doubling delays (until the poll interval) instead of a whole interval.
        chase = 0.0
        caught_up: int | None = None  # the checkpoint after the last step that wasn't full
        while not stop.is_set():
            listening = await self._listen()
            if self._wake.is_set():
                self._wake.clear()
                # A notification comes after the commit: what woke us is visible now.
                chase = 0.0 if listening else _FIRST_CHASE
            try:
                if caught_up is not None and not await self._news(caught_up):
                    step = _Step(0, caught_up, advanced=False, full=False)
                else:
                    step = await self._step()
            except Exception as exc:  # any failure: retry from the checkpoint
                self.log.warning("outbox_relay_failed", topic=self.topic, error=repr(exc))
                await self._wait(stopping, backoff, wake=False)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = self.poll_interval
            caught_up = None if step.full or step.checkpoint < 0 else step.checkpoint
            if step.full and step.advanced:
                continue  # more is waiting
            delay = chase or self.poll_interval
            chase = chase * 2 if chase * 2 < self.poll_interval else 0.0
            await self._wait(stopping, delay, wake=True)

    def _woken(self) -> None:
        # An append in this process, maybe before its commit: while listening, the
        # notification at its commit wakes the relay instead.
        if self._listener is None:
            self._wake.set()
            if hoptrace.on:
                self._woken_at = hoptrace.now()

    def _committed(self, *_: Any) -> None:
        self._wake.set()
        if hoptrace.on:
            self._woken_at = hoptrace.now()

    async def _listen(self) -> bool:
        """Whether the relay is listening for committed appends (it starts to when it can).

        A lost listening connection is given back and, a poll interval later, replaced;
        meanwhile the relay wakes on appends in this process and polls.
        """
        listener = self._listener
        if listener is not None:
            try:
                if not listener.is_closed():
                    return True
            except asyncpg.InterfaceError:
                pass  # the pool took it back (it was closing): it is gone as well
            self._listener = None
            await self._release(listener)
            self._listen_again_at = asyncio.get_running_loop().time() + self.poll_interval
        notify = getattr(self.store, "notify_on_commit", None)
        if notify is None or self.pool.get_max_size() < _MIN_POOL_TO_LISTEN:
            return False
        if asyncio.get_running_loop().time() < self._listen_again_at:
            return False
        try:
            conn: asyncpg.Connection = await self.pool.acquire()
        except Exception as exc:
            self.log.warning("outbox_listen_failed", topic=self.topic, error=repr(exc))
            self._listen_again_at = asyncio.get_running_loop().time() + self.poll_interval
            return False
        try:
            await conn.add_listener(CHANNEL, self._committed)
        except Exception as exc:
            self.log.warning("outbox_listen_failed", topic=self.topic, error=repr(exc))
            await self._release(conn)
            self._listen_again_at = asyncio.get_running_loop().time() + self.poll_interval
            return False
        self._listener = conn
        notify(CHANNEL)
        # What was committed before the LISTEN took effect is found by this step.
        self._wake.set()
        return True

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.remove_listener(CHANNEL, self._committed)
            await self._release(listener)

    async def _release(self, conn: asyncpg.Connection) -> None:
        with contextlib.suppress(Exception):
            await self.pool.release(conn)

    async def _news(self, checkpoint: int) -> bool:
        """Whether a step could do anything: rows after ``checkpoint``, or a moved checkpoint.

        One cheap statement instead of a step's five, for the many polls that find nothing.
        """
        return bool(await self.pool.fetchval(_NEWS, checkpoint, self.topic))

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

    async def _wait(self, stopping: asyncio.Future[Any], seconds: float, *, wake: bool) -> None:
        """Sleep ``seconds``, less when stopping or (with ``wake``) when an append wakes us."""
        if not wake:
            await asyncio.wait([stopping], timeout=seconds)
            return
        if self._wake.is_set():
            return
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait([stopping, woken], timeout=seconds, return_when=FIRST_COMPLETED)
        finally:
            woken.cancel()

    async def _step(self) -> _Step:
        ready: list[asyncpg.Record] = []
        started = read = 0
        if hoptrace.on:
            started = hoptrace.now()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(_LOCK, self.topic):
                return _Step(0, -1, advanced=False, full=False)  # another relay is at work
            checkpoint = int(await conn.fetchval(_READ_CHECKPOINT, self.topic) or 0)
            upto = checkpoint
            acks: list[asyncio.Future[Any]] = []
            full = True
            # Rows come in chunks: while the broker takes one chunk, the next one is read
            # and encoded. The checkpoint still moves once, after every chunk's ack.
            try:
                while full and len(ready) < self.batch_size:
                    size = min(self.fetch_size, self.batch_size - len(ready))
                    rows = await conn.fetch(_FETCH, upto, size)
                    chunk, upto = self._contiguous(upto, rows)
                    full = len(rows) == size and len(chunk) == size  # no gap, maybe more
                    if started and chunk and not read:
                        read = hoptrace.now()
                    if chunk:
                        acks += await self._publish(chunk)
                        ready += chunk
                await asyncio.gather(*acks)  # acks=all: every record is on the brokers
            except BaseException:
                for ack in acks:  # the step is retried; don't log their outcomes as lost
                    ack.add_done_callback(_retrieve)
                raise
            acked = hoptrace.now() if started else 0
            if upto != checkpoint:
                # Only after the broker acknowledged every record of the batch.
                await conn.execute(_WRITE_CHECKPOINT, self.topic, upto)
        if started and ready:
            # Hop trace: woken by an append -> step began -> rows read -> broker acked all.
            hoptrace.record(
                "relay",
                (row["correlation_id"] for row in ready),
                woken=self._woken_at,
                t0=started,
                read=read,
                acked=acked,
                t1=hoptrace.now(),
                topic=self.topic,
                source=self.source,
                rows=len(ready),
            )
        if ready and self._on_published is not None:
            self._on_published(ready)
        return _Step(len(ready), upto, advanced=upto != checkpoint, full=full)

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

    async def _publish(self, rows: Sequence[asyncpg.Record]) -> list[asyncio.Future[Any]]:
        """Send ``rows``; returns the futures of the broker's acknowledgements."""
        # One record batch per partition, filled in position order and sent whole. A
        # partition's batches go out one after the other (the producer keeps one request
        # per broker in flight), so each case (one key, one partition) keeps its order.
        partitions = sorted(await self.producer.partitions_for(self.topic))
        count = len(partitions)
        open_batches: dict[int, Any] = {}
        pending: list[asyncio.Future[Any]] = []
        record = self._records.record
        for row in rows:
            key, headers, value = record(row)
            partition = partitions[partition_of(key, count)]
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
        return pending

    async def _send(self, batch: Any, partition: int) -> asyncio.Future[Any]:
        batch.close()  # nothing else may join it
        future: asyncio.Future[Any] = await self.producer.send_batch(
            batch, self.topic, partition=partition
        )
        return future
