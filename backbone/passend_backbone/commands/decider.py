"""The shape of a service's rules: ``initial``, ``evolve`` and ``decide``, all pure.

A decider is the domain of one kind of stream (a case in intake, a case in trajectory):
``initial`` is the state of an empty stream, ``evolve(state, event)`` applies one stored
event, and ``decide(state, command, now)`` answers a command with the events it causes,
or with a :class:`~passend_backbone.commands.refusal.Refusal` (returned or raised).
Nothing here does I/O: :func:`~passend_backbone.commands.execute.execute` loads the
stream, folds it with ``evolve``, asks ``decide`` and appends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from passend_backbone.commands.refusal import Refusal
from passend_backbone.eventstore.model import RecordedEvent
from passend_contracts import registry
from passend_contracts.events.base import EventPayload

S = TypeVar("S")
C = TypeVar("C")

Decision = Sequence[EventPayload] | Refusal


@dataclass(frozen=True)
class Decider(Generic[S, C]):
    """The pure rules of one kind of stream."""

    initial: S
    evolve: Callable[[S, EventPayload], S]
    decide: Callable[[S, C, datetime], Decision]

    def fold(self, events: Iterable[EventPayload], state: S | None = None) -> S:
        """``state`` (default: the initial one) with ``events`` applied in order."""
        current = self.initial if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current

    def fold_stored(self, records: Iterable[RecordedEvent]) -> S:
        """The state of a stream as stored (old event versions upcast on the way)."""
        return self.fold(payload_of(r) for r in records)

    def events_for(self, state: S, command: C, now: datetime) -> list[EventPayload]:
        """``decide``'s events; its refusal, returned or raised, is raised."""
        decision = self.decide(state, command, now)
        if isinstance(decision, Refusal):
            raise decision
        return list(decision)


def payload_of(record: RecordedEvent) -> EventPayload:
    """The typed payload of a stored event, upcast to its newest version."""
    return registry.parse_data(record.event_type, record.data)
