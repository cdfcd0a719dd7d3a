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
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from passend_backbone.consumer.apply import (
    HandlerFailed,
    apply_projection,
    default_log,
    record_consumed,
)
from passend_backbone.consumer.deliveries import Delivery, parse_records
from passend_backbone.consumer.failures import is_transient
from passend_backbone.consumer.kinds import Projection
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
from passend_consumerkit.delivery import DeliveryPolicy, Failure


class RebuildConflict(RuntimeError):
    """Another rebuild of the same projection runs, or swapped while this one ran."""


@dataclass(frozen=True)
class RebuildProgress:
    """Passed to the progress callback after every applied batch."""

    projection: str
    phase: str  # "bulk" while reading to the highwater, "swap" while the live consumer waits
    records: int  # records read so far
    behind: int  # records still to read to reach the current target


@dataclass(frozen=True)
class FailedRecord:
    """A record the rebuild could not apply (the live consumer dead-lettered it already)."""

    topic: str
    partition: int
    offset: int
    stage: str
    reason: str


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
) -> RebuildReport:
    """Build the next generation of ``projection`` from offset zero and make it active.

    Raises :class:`RebuildConflict` when another rebuild of it is running, or when the
    final catch-up under the swap lock (which holds up the live consumer) takes longer
    than ``swap_timeout`` seconds.
    """
    log = (log or default_log()).bind(projection=projection.name, service=service)
    started = time.monotonic()
    await ensure_projection(pool, projection)
    async with pool.acquire() as guard:
        # Held for the whole rebuild; released by PostgreSQL if this process dies.
        got = await guard.fetchval(
            "SELECT pg_try_advisory_lock(hashtext($1))", f"passend.rebuild.{projection.name}"
        )
        if not got:
            raise RebuildConflict(f"projection {projection.name!r} is being rebuilt already")
        try:
            build = _Build(projection, pool, kind, bootstrap, service, progress, retries, log)
            old, new, resumed = await build.prepare(fresh=fresh)
            await build.consume_bulk(max_records)
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
        failed=tuple(build.failed),
    )
    log.info(
        "rebuild.done",
        old_generation=old,
        new_generation=new,
        records=report.records,
        seconds=round(report.seconds, 3),
        failed=len(report.failed),
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
    ) -> None:
        self.projection = projection
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

    async def _start_consumer(self, max_records: int) -> AIOKafkaConsumer:
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
            **client_security_settings(),
        )
        await consumer.start()
        try:
            await consumer.topics()  # loads the metadata partitions_for_topic reads
            partitions = [
                TopicPartition(topic, p)
                for topic in self.projection.topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
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
                batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
                records = [r for part in batch.values() for r in part]
                if records:
                    parsed = await _parse(records)
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

    async def _apply(
        self, records: Sequence[Any], parsed: _Parsed, phase: str, behind: int
    ) -> None:
        deliveries, failures = parsed

        failures += await self._apply_with_retries(records, deliveries)
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


_Parsed = tuple[list[Delivery], list[Failure]]
_PARSE_CHUNK = 500


async def _parse(records: Sequence[Any]) -> _Parsed:
    """The records parsed a chunk at a time, letting the pending transaction go on between."""
    deliveries: list[Delivery] = []
    failures: list[Failure] = []
    for start in range(0, len(records), _PARSE_CHUNK):
        parsed, failed, _ = parse_records(records[start : start + _PARSE_CHUNK])
        deliveries += parsed
        failures += failed
        await asyncio.sleep(0)
    return deliveries, failures


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
