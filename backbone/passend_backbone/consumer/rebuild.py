"""Rebuilding a projection from offset zero into a fresh generation, then swapping it in.

The old generation keeps serving reads and the live consumer keeps applying events to it
while the new one is built by a throwaway consumer (no group, no offset commits) that
reads the projection's topics from the beginning up to the highwater seen at its first
fetch (``end_offsets`` can't be trusted on every broker; the fetch highwater can).

The swap closes the window between "the rebuild read up to here" and "the live consumer
applied up to there": it locks the projection's ``projection_generations`` row, which the
live consumer reads ``FOR SHARE`` at the start of every batch, so no batch can land in the
old generation any more; it then reads the old generation's ``consumed`` offsets and
lets the rebuild catch up to them, flips ``active`` and commits. From then on the live
consumer applies to the new generation; records it re-reads are already marked handled
there and change nothing. The old schema is dropped in a second transaction once its
readers are done, so no read ever loses its tables; a crash between the two leaves an
inactive schema that the next rebuild drops.

Run it with the projection code the live consumers run (or once they were replaced): after
the swap they apply to the new generation's tables.

An interrupted rebuild resumes from the new generation's ``consumed`` offsets (each batch
records them in its own transaction); ``fresh=True`` starts over instead, as needed when
the projection's code changed since the interrupted attempt.

**Speed.** With ``workers`` > 1 (and the database's URL) the bulk of the reading runs in
that many forked processes, each with its own consumer and connection, over its share
of the topic partitions; a case's events stay in one partition, so each worker applies
them in order. The parent then catches up with what arrived meanwhile and swaps. A
projection that offers ``handle_raw_batch``
(:class:`~passend_backbone.consumer.kinds.RawBatchProjection`) gets the events of a
shape the contract has validated once as JSON (:class:`~passend_backbone.consumer.
deliveries.Shapes`), and the handled marks go in with ``COPY``; a batch that fails that
way is applied through the contract, event by event where needed, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from passend_backbone import db
from passend_backbone.consumer.apply import (
    HandlerFailed,
    apply_projection,
    apply_raw_projection,
    default_log,
    record_consumed,
)
from passend_backbone.consumer.deliveries import Delivery, RawEvent, Shapes, parse_records
from passend_backbone.consumer.failures import is_transient
from passend_backbone.consumer.kinds import Projection, RawBatchProjection
from passend_backbone.consumer.schema import (
    create_generation,
    ensure_projection,
    generation_schema,
    lock_projection,
    readers_lock_key,
    use_schema,
)
from passend_backbone.kafka_settings import (
    BrokerKind,
    client_security_settings,
    consumer_settings,
)
from passend_backbone.topics import KafkaTopics, TopicInspector, lost_history
from passend_consumerkit.delivery import DeliveryPolicy, Failure


class RebuildConflict(RuntimeError):
    """Another rebuild of the same projection runs, or swapped while this one ran."""


class HistoryLost(RebuildConflict):
    """A topic the projection reads no longer starts at offset 0: its oldest events are
    gone, so a read model built from it would silently miss them. Nothing is swapped."""


@dataclass(frozen=True)
class RebuildProgress:
    """Passed to the progress callback after every applied batch."""

    projection: str
    phase: str  # "bulk" while reading to the highwater, "swap" while the live consumer waits
    records: int  # records read so far
    behind: int  # records still to read to reach the current target


@dataclass(frozen=True)
class FailedRecord:
    """A record the rebuild could not apply (the live consumer dead-lettered it already).

    ``acknowledged_by``/``acknowledged_why``: an operator acknowledged its dead letter as
    handled (``passend_backbone.deadletters``), so the rebuild passes over it knowingly.
    """

    topic: str
    partition: int
    offset: int
    stage: str
    reason: str
    acknowledged_by: str | None = None
    acknowledged_why: str | None = None


@dataclass(frozen=True)
class RebuildReport:
    """What a finished rebuild did."""

    projection: str
    old_generation: int
    new_generation: int
    records: int
    seconds: float
    resumed: bool
    failed: tuple[FailedRecord, ...] = field(default=())
    # Processes that read the bulk: the forked workers, or 1 when it was read in-process
    # (one worker asked for, fewer than two partitions, or not called from the main thread).
    workers: int = 1

    @property
    def unacknowledged(self) -> tuple[FailedRecord, ...]:
        """The failed records no operator acknowledged: these make the rebuild fail."""
        return tuple(f for f in self.failed if f.acknowledged_by is None)


async def rebuild(
    *,
    service: str,
    projection: Projection,
    pool: asyncpg.Pool,
    bootstrap: str,
    kind: BrokerKind,
    progress: Callable[[RebuildProgress], None] | None = None,
    fresh: bool = False,
    retries: int = 3,
    max_records: int = 5000,
    swap_timeout: float = 60.0,
    log: Any = None,
    topic_prefix: str = "",
    workers: int = 1,
    database_url: str | None = None,
    raw: bool = True,
    log_starts: TopicInspector | None = None,
) -> RebuildReport:
    """Build the next generation of ``projection`` from offset zero and make it active.

    ``workers`` > 1 reads the bulk in that many processes (forked; each connects to
    ``database_url``, which it then needs); ``raw=False`` applies every event through the
    contract even when the projection could take it as JSON. ``log_starts`` tells where each
    partition's log starts (default: the broker at ``bootstrap``).

    Raises :class:`RebuildConflict` when another rebuild of it is running, or when the
    final catch-up under the swap lock (which holds up the live consumer) takes longer
    than ``swap_timeout`` seconds; :class:`HistoryLost` when a topic it reads lost its
    oldest records (checked before reading and again before the swap).
    """
    if workers > 1 and not database_url:
        raise ValueError("workers > 1 need database_url: each worker connects on its own")
    log = (log or default_log()).bind(projection=projection.name, service=service)
    started = time.monotonic()
    inspector = log_starts or KafkaTopics(bootstrap)
    read_topics = [topic_prefix + t for t in projection.topics]
    await _refuse_lost_history(inspector, read_topics, projection.name)
    await ensure_projection(pool, projection)
    async with pool.acquire() as guard:
        # Held for the whole rebuild; released by PostgreSQL if this process dies.
        got = await guard.fetchval(
            "SELECT pg_try_advisory_lock(hashtext($1))", f"passend.rebuild.{projection.name}"
        )
        if not got:
            raise RebuildConflict(f"projection {projection.name!r} is being rebuilt already")
        try:
            build = _Build(
                projection, pool, kind, bootstrap, service, progress, retries, log, topic_prefix
            )
            build.raw = raw and isinstance(projection, RawBatchProjection)
            old, new, resumed = await build.prepare(fresh=fresh)
            forked = 0
            if workers > 1 and database_url:
                forked = await build.consume_in_workers(workers, database_url, max_records)
            await build.consume_bulk(max_records)
            await _refuse_lost_history(inspector, read_topics, projection.name)
            await build.swap(old, max_records, swap_timeout)
        finally:
            await guard.execute(
                "SELECT pg_advisory_unlock(hashtext($1))", f"passend.rebuild.{projection.name}"
            )
    report = RebuildReport(
        projection=projection.name,
        old_generation=old,
        new_generation=new,
        records=build.records,
        seconds=time.monotonic() - started,
        resumed=resumed,
        failed=await _acknowledgements(pool, f"{service}.{projection.name}", build.failed),
        workers=max(1, forked),
    )
    log.info(
        "rebuild.done",
        old_generation=old,
        new_generation=new,
        records=report.records,
        seconds=round(report.seconds, 3),
        failed=len(report.failed),
        workers=report.workers,
    )
    return report


class _Build:
    """The state of one rebuild: the new generation and the throwaway consumer."""

    def __init__(
        self,
        projection: Projection,
        pool: asyncpg.Pool,
        kind: BrokerKind,
        bootstrap: str,
        service: str,
        progress: Callable[[RebuildProgress], None] | None,
        retries: int,
        log: Any,
        topic_prefix: str = "",
    ) -> None:
        self.projection = projection
        self.topic_prefix = topic_prefix
        self.pool = pool
        self.kind: BrokerKind = kind
        self.bootstrap = bootstrap
        self.service = service
        self.progress = progress
        self.retries = retries
        self.log = log
        self.records = 0
        self.failed: list[FailedRecord] = []
        self.generation = 0
        self.schema = ""
        self.raw = False  # events of validated shapes as JSON (a RawBatchProjection)
        self.shapes = Shapes()

    async def prepare(self, *, fresh: bool) -> tuple[int, int, bool]:
        """Drop stale generations, create (or keep, to resume) the next one."""
        name = self.projection.name
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await lock_projection(conn, name)
                active: int = await conn.fetchval(
                    "SELECT active FROM public.projection_generations WHERE projection = $1",
                    name,
                )
                schemas = await _generation_schemas(conn, name)
            for generation, schema in schemas.items():
                if generation < active or (fresh and generation > active):
                    await _drop_generation(conn, name, schema)
            self.generation = active + 1
            self.schema = generation_schema(name, self.generation)
            resumed = self.generation in schemas and not fresh
            if not resumed:
                async with conn.transaction():
                    await lock_projection(conn, name)
                    await create_generation(conn, self.projection, self.generation)
            self.log.info("rebuild.start", generation=self.generation, resumed=resumed)
            return active, self.generation, resumed

    async def consume_in_workers(self, workers: int, database_url: str, max_records: int) -> int:
        """The bulk in ``workers`` forked processes, each over its share of the partitions.

        Each worker reads its partitions from where the generation's ``consumed`` says to
        the highwater of its first fetches (two passes, as :meth:`consume_bulk`), applying
        batches in their own transactions; the parent shows progress from ``consumed``.
        Returns how many processes were forked (0 when the bulk is left to this process).
        """
        partitions = await self._partitions()
        shares = [partitions[i::workers] for i in range(workers)]
        shares = [share for share in shares if share]
        if len(shares) < 2:
            return 0  # one worker would only add a process start: read here instead
        if threading.current_thread() is not threading.main_thread():
            # A process forked from another thread than the main one does not exit
            # cleanly (exit code 1 after its work): read here instead.
            self.log.warning("rebuild.workers_need_the_main_thread", workers=workers)
            return 0
        context = multiprocessing.get_context("fork")
        results = [context.SimpleQueue() for _ in shares]
        processes = [
            context.Process(
                target=_worker,
                args=(self._worker_job(share, database_url, max_records), queue),
                name=f"rebuild-{self.projection.name}-{n}",
                daemon=True,
            )
            for n, (share, queue) in enumerate(zip(shares, results, strict=True))
        ]
        for process in processes:
            process.start()
        outcomes: dict[int, dict[str, Any]] = {}
        next_progress = 0.0
        try:
            while len(outcomes) < len(processes):
                # Read each report as it comes: a worker blocks until its report is read.
                for n, queue in enumerate(results):
                    if n not in outcomes and not queue.empty():
                        outcomes[n] = queue.get()
                if all(not p.is_alive() for p in processes) and len(outcomes) < len(processes):
                    for n, queue in enumerate(results):
                        if n not in outcomes and not queue.empty():
                            outcomes[n] = queue.get()
                    break
                await asyncio.sleep(0.01)
                if self.progress is not None and time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + 0.5
                    done = await self._consumed_so_far()
                    self.progress(RebuildProgress(self.projection.name, "bulk", done, 0))
        finally:
            for process in processes:
                if process.is_alive() and len(outcomes) < len(processes):
                    process.terminate()
                process.join()
        for n, process in enumerate(processes):
            outcome = outcomes.get(n)
            if process.exitcode != 0 or outcome is None or "error" in outcome:
                error = (outcome or {}).get("error") or f"exit code {process.exitcode}"
                raise RuntimeError(f"rebuild worker {process.name} failed: {error}")
            self.records += outcome["records"]
            self.failed += [FailedRecord(*f) for f in outcome["failed"]]
        return len(processes)

    def _worker_job(
        self, partitions: list[TopicPartition], database_url: str, max_records: int
    ) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "kind": self.kind,
            "bootstrap": self.bootstrap,
            "service": self.service,
            "retries": self.retries,
            "topic_prefix": self.topic_prefix,
            "generation": self.generation,
            "raw": self.raw,
            "partitions": [(tp.topic, tp.partition) for tp in partitions],
            "database_url": database_url,
            "max_records": max_records,
        }

    async def _partitions(self) -> list[TopicPartition]:
        """The projection's topic partitions, as the broker's metadata has them."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **client_security_settings())
        await consumer.start()
        try:
            await consumer.topics()
            return [
                TopicPartition(self.topic_prefix + topic, p)
                for topic in self.projection.topics
                for p in sorted(consumer.partitions_for_topic(self.topic_prefix + topic) or ())
            ]
        finally:
            await consumer.stop()

    async def _consumed_so_far(self) -> int:
        value = await self.pool.fetchval(
            f"SELECT coalesce(sum(next_offset), 0) FROM {self.schema}.consumed"
        )
        return int(value)

    async def consume_bulk(self, max_records: int) -> None:
        """Read from the start (or the resume point) to the highwater of the first fetches."""
        self.consumer = consumer = await self._start_consumer(max_records)
        try:
            # Two passes: the second one shortens the catch-up the swap makes the live
            # consumer wait for.
            for _ in range(2):
                targets = await self._read_until(consumer, None, "bulk", max_records)
                if sum(targets.values()) == 0:
                    break
        except BaseException:
            await consumer.stop()
            raise

    async def swap(self, old: int, max_records: int, swap_timeout: float) -> None:
        """Catch up with the old generation under the row lock, flip, drop the old schema."""
        name = self.projection.name
        consumer = self.consumer
        try:
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    active = await conn.fetchval(
                        "SELECT active FROM public.projection_generations "
                        "WHERE projection = $1 FOR UPDATE",
                        name,
                    )
                    if active != old:
                        raise RebuildConflict(
                            f"projection {name!r} moved from generation {old} to {active} "
                            "during the rebuild; run the rebuild again"
                        )
                    old_schema = generation_schema(name, old)
                    rows = await conn.fetch(
                        f"SELECT topic, partition, next_offset FROM {old_schema}.consumed"
                    )
                    goal = {
                        TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows
                    }
                    try:
                        await asyncio.wait_for(
                            self._read_until(consumer, goal, "swap", max_records),
                            timeout=swap_timeout,
                        )
                    except TimeoutError:
                        # The live consumer waits meanwhile: give way rather than stall it.
                        raise RebuildConflict(
                            f"projection {name!r} did not catch up with generation {old} "
                            f"within {swap_timeout} s of holding the swap lock; run the "
                            "rebuild again (it resumes)"
                        ) from None
                    await conn.execute(
                        "UPDATE public.projection_generations SET active = $2 "
                        "WHERE projection = $1",
                        name,
                        self.generation,
                    )
                await _drop_generation(conn, name, old_schema)
        finally:
            await consumer.stop()

    async def _start_consumer(
        self, max_records: int, only: Sequence[TopicPartition] | None = None
    ) -> AIOKafkaConsumer:
        settings = consumer_settings(self.kind)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            client_id=f"{self.service}.{self.projection.name}.rebuild",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=settings["isolation_level"],
            max_poll_records=max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # A fetch at a partition's end waits this long for more: the rebuild learns
            # each highwater from such fetches, twice per pass (the default is 500 ms).
            fetch_max_wait_ms=_FETCH_WAIT_MS,
            **client_security_settings(),
        )
        await consumer.start()
        try:
            await consumer.topics()  # loads the metadata partitions_for_topic reads
            partitions = [
                TopicPartition(self.topic_prefix + topic, p)
                for topic in self.projection.topics
                for p in sorted(consumer.partitions_for_topic(self.topic_prefix + topic) or ())
            ]
            if only is not None:
                partitions = [tp for tp in partitions if tp in set(only)]
            consumer.assign(partitions)
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(
                    f"SELECT topic, partition, next_offset FROM {self.schema}.consumed"
                )
            for row in rows:
                tp = TopicPartition(row["topic"], row["partition"])
                if tp in partitions:
                    consumer.seek(tp, row["next_offset"])
        except BaseException:
            await consumer.stop()
            raise
        return consumer

    async def _read_until(
        self,
        consumer: AIOKafkaConsumer,
        goal: dict[Any, int] | None,
        phase: str,
        max_records: int,
    ) -> dict[Any, int]:
        """Apply records until every partition reached its goal; return what was left per partition.

        Without a ``goal`` each partition's goal is the highwater of its first fetch.
        """
        partitions: list[Any] = sorted(
            consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)
        )
        targets: dict[Any, int] = {}
        if goal is not None:
            targets = {tp: goal.get(tp, 0) for tp in partitions}
        start_behind: dict[Any, int] = {}
        # The previous batch's transaction runs while the next batch is read and parsed;
        # batches still commit one after another, in order.
        pending: asyncio.Task[None] | None = None
        try:
            while True:
                if goal is None:
                    for tp in partitions:
                        if tp not in targets and consumer.highwater(tp) is not None:
                            targets[tp] = consumer.highwater(tp)
                behind = {}
                for tp in partitions:
                    if tp in targets:
                        behind[tp] = max(0, targets[tp] - await consumer.position(tp))
                if not start_behind and len(behind) == len(partitions):
                    start_behind = dict(behind)
                if len(behind) == len(partitions) and not any(behind.values()):
                    if pending is not None:
                        await pending
                        pending = None
                    return start_behind
                batch = await consumer.getmany(
                    timeout_ms=_FETCH_WAIT_MS * 2, max_records=max_records
                )
                records = [r for part in batch.values() for r in part]
                if records:
                    parsed = await self._parse(records)
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(
                        self._apply(records, parsed, phase, sum(behind.values()))
                    )
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def _parse(self, records: Sequence[Any]) -> _Parsed:
        """The records parsed a chunk at a time, letting the pending transaction go on
        between: raw where the projection takes it, else through the contract."""
        events: list[RawEvent | Delivery] = []
        failures: list[Failure] = []
        raw_types = self.projection.raw_types if self.raw else frozenset()  # type: ignore[attr-defined]
        for start in range(0, len(records), _PARSE_CHUNK):
            chunk = records[start : start + _PARSE_CHUNK]
            if self.raw:
                parsed, failed, _ = self.shapes.parse(chunk, raw_types)
                events += parsed
            else:
                typed, failed, _ = parse_records(chunk)
                events += typed
            failures += failed
            await asyncio.sleep(0)
        return events, failures

    async def _apply(
        self, records: Sequence[Any], parsed: _Parsed, phase: str, behind: int
    ) -> None:
        events, failures = parsed
        if self.raw and any(isinstance(e, RawEvent) for e in events):
            try:
                await self._apply_raw(records, events)
                events = []
            except _RawFailed as exc:
                # Through the contract instead: it names the event, and the retries set
                # it aside as the live consumer would.
                self.log.warning("rebuild.raw_batch_failed", records=len(records), error=exc.reason)
                typed, failures, _ = parse_records(records)
                failures += await self._apply_with_retries(records, typed)
                events = []
        if events:
            typed_events = [e for e in events if isinstance(e, Delivery)]
            failures += await self._apply_with_retries(records, typed_events)
        for failure in failures:
            record = failure.record
            self.log.error(
                "rebuild.record_failed",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error=failure.reason,
            )
            self.failed.append(
                FailedRecord(
                    record.topic, record.partition, record.offset, failure.stage, failure.reason
                )
            )
        self.records += len(records)
        if self.progress is not None:
            self.progress(RebuildProgress(self.projection.name, phase, self.records, behind))

    async def _apply_raw(
        self, records: Sequence[Any], events: Sequence[RawEvent | Delivery]
    ) -> None:
        """One transaction: handled marks, the projection's raw batch, the offsets.

        Transient failures are waited out; any other raises :class:`_RawFailed`.
        """
        policy = DeliveryPolicy(retries=self.retries)
        transient_in_a_row = 0
        projection: RawBatchProjection = self.projection  # type: ignore[assignment]
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await use_schema(conn, self.schema)
                    await apply_raw_projection(conn, projection, events)
                    await record_consumed(conn, records)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise _RawFailed(repr(exc)) from exc
                transient_in_a_row += 1
                self.log.warning("rebuild.transient_failure", error=repr(exc))
                await asyncio.sleep(policy.backoff(transient_in_a_row))

    async def _apply_with_retries(
        self, records: Sequence[Any], deliveries: Sequence[Delivery]
    ) -> list[Failure]:
        """Apply in one transaction until it commits; return the deliveries set aside.

        The live consumers' policy (``passend_consumerkit.delivery``), in-process: an
        event whose handler failed ``retries`` times is set aside (and reported), a
        transient failure is waited out however long it lasts.
        """
        policy = DeliveryPolicy(retries=self.retries)
        remaining = list(deliveries)
        failed: list[Failure] = []
        attempts: dict[int, int] = {}
        transient_in_a_row = 0
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await use_schema(conn, self.schema)
                    await apply_projection(conn, self.projection, remaining)
                    await record_consumed(conn, records)
                return failed
            except HandlerFailed as exc:
                if is_transient(exc.cause):
                    transient_in_a_row += 1
                    wait = policy.backoff(transient_in_a_row)
                else:
                    transient_in_a_row = 0
                    key = id(exc.delivery)
                    attempts[key] = attempts.get(key, 0) + 1
                    self.log.warning(
                        "rebuild.handler_failed",
                        event_id=str(exc.delivery.event.id),
                        attempt=attempts[key],
                        error=repr(exc.cause),
                    )
                    if attempts[key] >= policy.retries:
                        remaining = [d for d in remaining if d is not exc.delivery]
                        failed.append(Failure(exc.delivery.record, "handle", exc.cause))
                        continue
                    wait = policy.backoff(attempts[key])
            except Exception as exc:
                if not is_transient(exc):
                    raise
                transient_in_a_row += 1
                wait = policy.backoff(transient_in_a_row)
                self.log.warning("rebuild.transient_failure", error=repr(exc))
            await asyncio.sleep(wait)


_Parsed = tuple[list[RawEvent | Delivery], list[Failure]]
_PARSE_CHUNK = 500
_FETCH_WAIT_MS = 20


class _RawFailed(Exception):
    """A batch failed on the raw path for another reason than a passing fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _worker(job: dict[str, Any], results: Any) -> None:
    """A forked rebuild worker: read its partitions into the generation, report, exit.

    It inherits the parent's memory, including the parent's connections and event loop;
    it uses none of them (new loop, own pool and consumer) and leaves them alone:
    ``gc.freeze`` keeps the collector from finalising the parent's objects here.
    """
    gc.freeze()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        records, failed = asyncio.run(_work(job))
        results.put({"records": records, "failed": failed})
    except BaseException as exc:
        results.put({"error": repr(exc)})
        raise


async def _work(job: dict[str, Any]) -> tuple[int, list[tuple[str, int, int, str, str]]]:
    pool = await db.create_pool(job["database_url"], min_size=1, max_size=2)
    try:
        build = _Build(
            job["projection"],
            pool,
            job["kind"],
            job["bootstrap"],
            job["service"],
            None,
            job["retries"],
            default_log().bind(projection=job["projection"].name, worker=True),
            job["topic_prefix"],
        )
        build.generation = job["generation"]
        build.schema = generation_schema(job["projection"].name, build.generation)
        build.raw = job["raw"]
        only = [TopicPartition(topic, partition) for topic, partition in job["partitions"]]
        consumer = await build._start_consumer(job["max_records"], only=only)
        try:
            for _ in range(2):
                targets = await build._read_until(consumer, None, "bulk", job["max_records"])
                if sum(targets.values()) == 0:
                    break
        finally:
            await consumer.stop()
        failed = [(f.topic, f.partition, f.offset, f.stage, f.reason) for f in build.failed]
        return build.records, failed
    finally:
        await pool.close()


async def _refuse_lost_history(
    inspector: TopicInspector, names: Sequence[str], projection: str
) -> None:
    """Raise :class:`HistoryLost` when a partition of ``names`` doesn't start at offset 0."""
    lost = lost_history(await inspector.log_starts(names))
    if lost:
        raise HistoryLost(
            f"projection {projection!r} not rebuilt, the active read model stays: "
            + "; ".join(lost)
            + ". Restore the topic (republish from the event store of the service that "
            "owns it: passend-<service> republish) before rebuilding."
        )


async def _acknowledgements(
    pool: asyncpg.Pool, group: str, failed: Sequence[FailedRecord]
) -> tuple[FailedRecord, ...]:
    """``failed`` with the acknowledgements of their dead letters (consumer group ``group``)."""
    if not failed:
        return ()
    if not await pool.fetchval("SELECT to_regclass('public.dead_letter_resolutions') IS NOT NULL"):
        return tuple(failed)
    rows = await pool.fetch(
        'SELECT topic, "partition", "offset", resolved_by, reason '
        "FROM public.dead_letter_resolutions "
        "WHERE consumer_group = $1 AND resolution = 'acknowledged'",
        group,
    )
    acked = {(r["topic"], r["partition"], r["offset"]): r for r in rows}
    marked = []
    for f in failed:
        row = acked.get((f.topic, f.partition, f.offset))
        if row is not None:
            f = replace(f, acknowledged_by=row["resolved_by"], acknowledged_why=row["reason"])
        marked.append(f)
    return tuple(marked)


async def _generation_schemas(conn: asyncpg.Connection, projection: str) -> dict[int, str]:
    prefix = f"rm_{projection}_"
    rows = await conn.fetch(
        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", prefix
    )
    found: dict[int, str] = {}
    for row in rows:
        suffix = row["nspname"][len(prefix) :]
        if suffix.isdigit():
            found[int(suffix)] = row["nspname"]
    return found


async def _drop_generation(conn: asyncpg.Connection, projection: str, schema: str) -> None:
    """Drop an inactive generation once no reader is inside a read-model transaction."""
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", readers_lock_key(projection)
        )
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
