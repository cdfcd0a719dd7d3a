"""A service's own events in its own read models at once: applied in the appending
transaction.

A projection that reads the service's own topic would otherwise see an event only after
the relay published it and the broker handed it back: two hops through the broker for a
change this process has in hand. So every append applies the new events to those
projections in the same transaction, exactly as the consumer would (the same Kafka record
built from the stored row, the same parse, the same handled marks in the active
generation). The consumer stays what it was: the guarantee. When the event comes back
from the broker its handled mark is there and it changes nothing; a rebuild still reads
the topic from offset zero.

A stream's events reach the read model in their order, as from the topic: an append whose
stream has an earlier event without a handled mark in the generation (its inline step
failed, or a process without the step appended it) is left to the consumer as well.

An inline application that fails, for any reason, is undone to a savepoint and logged;
the append and its command go on, and the consumer applies the event (with its retries
and dead letters) once it comes from the broker, as it does for a projection not set up
yet. It writes as the service, as the consumer does, also when the command acts as the
API's tenant role (``passend_backbone.tenancy``), and gives the caller back its role and
search path. It takes no lock on the generation: an event applied to a generation that a
swap has just replaced is applied to the new one by its consumer, which finds no handled
mark for it there; only the consumer moves the offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from passend_backbone import hoptrace
from passend_backbone.consumer.apply import apply_projection
from passend_backbone.consumer.deliveries import Delivery
from passend_backbone.consumer.kinds import Projection
from passend_backbone.consumer.schema import generation_schema
from passend_backbone.eventstore.model import RecordedEvent
from passend_backbone.tenancy import sql_literal
from passend_contracts.registry import UnknownEventType, parse

# The caller may be acting as the API's role for one tenant (``passend_backbone.tenancy``);
# a projection writes as the service, as its consumer does: remember, then switch.
_ENTER = """
SELECT current_setting('role') AS caller_role, current_setting('search_path') AS caller_path,
       set_config('role', 'none', true) AS role
"""
# The active generation, and the search path set to the one expected (the usual case; a
# swap since the last append costs a second statement). No row lock: an event applied to
# a generation just swapped out is applied to the new one by its consumer, which has no
# handled mark for it; only the consumer moves offsets.
_ACTIVE = """
SELECT active, set_config('search_path', $2, true) AS path
FROM public.projection_generations WHERE projection = $1
"""
# Whether every earlier event of the stream is in this generation already.
_EARLIER_HANDLED = """
SELECT NOT EXISTS (
    SELECT 1 FROM public.events e
    WHERE e.stream_id = $1 AND e.stream_version < $2
      AND NOT EXISTS (SELECT 1 FROM handled h WHERE h.event_id = e.event_id)
)
"""
_SAVEPOINT = "SAVEPOINT passend_inline"
_UNDO = "ROLLBACK TO SAVEPOINT passend_inline"
_RELEASE = "RELEASE SAVEPOINT passend_inline"


@dataclass(frozen=True, slots=True)
class InlineRecord:
    """What a dead letter or a log line reads of a Kafka record, for an event that is not
    on the broker yet."""

    topic: str
    key: bytes
    value: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int = -1
    offset: int = -1
    timestamp: int = -1


class InlineProjections:
    """Applies a service's own new events to its projections of its own topic."""

    def __init__(
        self, projections: Sequence[Projection], topic: str, source: str, *, log: Any = None
    ) -> None:
        self.topic = topic
        self.source = source
        self.projections = tuple(p for p in projections if topic in p.topics)
        # The generation last found active, per projection (checked at every append).
        self._active: dict[str, int] = {p.name: 1 for p in self.projections}
        self._log = log if log is not None else structlog.get_logger("passend.consumer.inline")

    def __bool__(self) -> bool:
        return bool(self.projections)

    def deliveries(self, recorded: Sequence[RecordedEvent]) -> list[Delivery]:
        """The events as the consumer parses them from the broker: the same envelope
        (``RecordedEvent.to_cloudevent``, which the relay's records equal) and payload."""
        found: list[Delivery] = []
        for event in recorded:
            envelope = event.to_cloudevent(self.source)
            try:
                payload = parse(envelope)
            except UnknownEventType:
                continue  # as the consumer skips it
            record = InlineRecord(self.topic, event.stream_id.encode())
            found.append(Delivery(record, envelope, payload))
        return found

    async def apply(self, conn: asyncpg.Connection, recorded: Sequence[RecordedEvent]) -> None:
        """Apply ``recorded`` (just appended on ``conn``, in its open transaction)."""
        if not self.projections or not recorded:
            return
        started = hoptrace.now() if hoptrace.on else 0
        deliveries = self.deliveries(recorded)
        if not deliveries:
            return
        # One append is one stream's next events: they go in after its earlier ones only.
        first = recorded[0]
        for projection in self.projections:
            await self._apply_one(
                conn, projection, deliveries, first.stream_id, first.stream_version
            )
        if started:
            hoptrace.record(
                "inline",
                (d.event.correlationid for d in deliveries),
                t0=started,
                t1=hoptrace.now(),
                topic=self.topic,
                events=len(deliveries),
            )

    async def _apply_one(
        self,
        conn: asyncpg.Connection,
        projection: Projection,
        deliveries: Sequence[Delivery],
        stream_id: str,
        version: int,
    ) -> None:
        name = projection.name
        expected = self._active[name]
        # Settings changed after the savepoint go back by themselves when it is undone.
        await conn.execute(_SAVEPOINT)
        caller = await conn.fetchrow(_ENTER)
        assert caller is not None
        try:
            active = await conn.fetchval(_ACTIVE, name, _path(name, expected))
            if active is None:
                # Not set up yet: the consumer sets it up and applies these.
                await conn.execute(f"{_UNDO}; {_RELEASE}")
                return
            if active != expected:
                self._active[name] = active
                await conn.execute(
                    "SELECT set_config('search_path', $1, true)", _path(name, active)
                )
            if version > 1 and not await conn.fetchval(_EARLIER_HANDLED, stream_id, version):
                # An earlier event of the stream is still on its way to the consumer (its
                # inline step failed, or another process appended it without one): the
                # read model takes each stream in order, so these wait for the consumer too.
                await conn.execute(f"{_UNDO}; {_RELEASE}")
                return
            await apply_projection(conn, projection, deliveries)
        except Exception as exc:
            # Undone to the savepoint: the append and its command go on without it.
            await conn.execute(f"{_UNDO}; {_RELEASE}")
            self._log.warning(
                "consumer.inline_apply_failed",
                projection=name,
                events=[str(d.event.id) for d in deliveries],
                error=repr(exc),
                note="the consumer applies these events when the broker hands them over",
            )
            return
        # Kept: back to the caller's role and search path (quoted as literals).
        await conn.execute(
            f"{_RELEASE}; SELECT set_config('search_path', {sql_literal(caller['caller_path'])}, "
            f"true), set_config('role', {sql_literal(caller['caller_role'])}, true)"
        )


def _path(projection: str, generation: int) -> str:
    return f"{generation_schema(projection, generation)}, public"
