"""A tiny decider for the contract tests: a counter that stops at three (test rules T1, T2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from passend_backbone.commands import Decider, Refusal
from passend_backbone.commands.decider import Decision
from passend_contracts.events.base import EventPayload

LIMIT = 3


class Counted(EventPayload):
    """The counter went up by ``by``; ``seen`` is the count the decision was made on."""

    event_type: ClassVar[str] = "nl.passend.test.Counted.v1"
    topic: ClassVar[str] = "passend.test.events"
    meaning: ClassVar[str] = "A test counter went up."

    by: int
    seen: int


@dataclass(frozen=True)
class Count:
    """The state of a counter stream."""

    value: int = 0


@dataclass(frozen=True)
class Add:
    """The command: add ``by`` to the counter."""

    by: int


def evolve(state: Count, event: EventPayload) -> Count:
    assert isinstance(event, Counted)
    return Count(state.value + event.by)


@dataclass
class Decisions:
    """A counter decider that remembers the states it decided on."""

    seen: list[int]

    def decide(self, state: Count, command: Add, now: datetime) -> Decision:
        """T1: add at least one (a returned refusal). T2: the counter stops at three (a
        raised one)."""
        self.seen.append(state.value)
        if command.by < 1:
            return Refusal.invalid("T1", "add at least one", field="by")
        if state.value + command.by > LIMIT:
            raise Refusal.conflict("T2", f"the counter stops at {LIMIT}")
        return [Counted(by=command.by, seen=state.value)]

    @property
    def decider(self) -> Decider[Count, Add]:
        return Decider(initial=Count(), evolve=evolve, decide=self.decide)
