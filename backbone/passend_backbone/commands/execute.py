"""Running a command: one transaction that loads, decides, appends and remembers the answer.

:func:`execute` is the one way a user's command changes a stream, in every service:

1. open the caller's tenant transaction;
2. claim the idempotency key (a retry gets the first answer and nothing is decided);
3. read the stream and fold it with the decider;
4. ``check`` who may act on it (a refusal leaves nothing behind);
5. ``decide`` on the state; append the events at the version that was read;
6. run the ``after`` hook (side effects that must commit with the events: timer rows,
   one-time links), build the answer and remember it with the key;
7. commit. A stream that moved on meanwhile (a lost race) rolls all of it back, and the
   command is decided again on the new state, so the rules name the winner; after
   ``attempts`` lost races the caller gets a conflict.

Reactors decide inside the consumer's transaction with :func:`decide_and_append`, the
same steps 3 and 5 with deterministic event ids, so handling a cause twice appends once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from passend_backbone.commands.decider import Decider
from passend_backbone.commands.idempotency import IdempotencyKey, IdempotencyStore, StoredAnswer
from passend_backbone.commands.refusal import Refusal
from passend_backbone.commands.transactions import Transactions
from passend_backbone.eventstore.model import ConcurrencyError, Metadata, NewEvent, RecordedEvent
from passend_backbone.eventstore.port import EventStore

S = TypeVar("S")
C = TypeVar("C")

# Lost races in a row before the caller is told to try again. Each retry decides anew on
# the stream as the winner left it, so this is reached only under heavy contention.
ATTEMPTS = 10


@dataclass(frozen=True)
class CommandPorts:
    """Where commands read and write: the store, the transactions and the keys."""

    store: EventStore
    transactions: Transactions
    idempotency: IdempotencyStore


@dataclass(frozen=True)
class Outcome(Generic[S]):
    """What a command did: the state after it, the events it appended (in order)."""

    stream_id: str
    state: S
    recorded: list[RecordedEvent]
    read_version: int  # the stream's version when it was read

    @property
    def version(self) -> int:
        """The stream's version after the command."""
        return self.recorded[-1].stream_version if self.recorded else self.read_version


Check = Callable[[S, Sequence[RecordedEvent]], None]
After = Callable[[Any, Outcome[S]], Awaitable[None]]
Answer = Callable[[Outcome[S]], StoredAnswer]
Prepare = Callable[[Any, S], Awaitable[C]]


def default_answer(outcome: Outcome[Any]) -> StoredAnswer:
    """200 with the stream, its version and the appended events."""
    return StoredAnswer(
        200,
        {
            "case_id": outcome.stream_id,
            "version": outcome.version,
            "events": [
                {"id": str(r.event_id), "type": r.event_type, "version": r.stream_version}
                for r in outcome.recorded
            ],
        },
    )


async def execute(
    ports: CommandPorts,
    decider: Decider[S, C],
    stream_id: str,
    command: C | None = None,
    *,
    prepare: Prepare[S, C] | None = None,
    tenant: str,
    meta: Metadata,
    now: datetime,
    key: IdempotencyKey | None = None,
    check: Check[S] | None = None,
    after: After[S] | None = None,
    answer: Answer[S] = default_answer,
    attempts: int = ATTEMPTS,
) -> StoredAnswer:
    """Decide ``command`` on stream ``stream_id`` and append, as one transaction.

    Give the ``command`` itself, or ``prepare``: an async function ``(tx, state) ->
    command`` that builds it inside the transaction (when it needs rows read in the same
    snapshot, or the state's own facts).
    Raises the decider's or ``check``'s :class:`Refusal`; raises a ``conflict`` refusal
    after ``attempts`` lost races.
    """
    if (command is None) == (prepare is None):
        raise TypeError("execute() takes a command or a prepare function, not both or neither")
    for _ in range(attempts):
        try:
            async with ports.transactions.tenant(tenant) as tx:
                if key is not None:
                    first = await ports.idempotency.claim(tx, key)
                    if first is not None:
                        return first
                records = await ports.store.read_stream(stream_id, conn=tx)
                state = decider.fold_stored(records)
                if check is not None:
                    check(state, records)
                decided = await prepare(tx, state) if prepare is not None else command
                assert decided is not None  # one of the two was given (checked above)
                events = decider.events_for(state, decided, now)
                recorded = await ports.store.append(
                    stream_id, len(records), [NewEvent.of(e) for e in events], meta, conn=tx
                )
                outcome = Outcome(stream_id, decider.fold(events, state), recorded, len(records))
                if after is not None:
                    await after(tx, outcome)
                result = answer(outcome)
                if key is not None:
                    await ports.idempotency.remember(tx, key, result)
                return result
        except ConcurrencyError:
            continue  # rolled back, the key's claim with it: decide again on the new state
    raise Refusal.conflict(
        "concurrency",
        "the case kept changing while this was decided: reload it and try again",
    )


async def decide_and_append(
    store: EventStore,
    tx: Any,
    decider: Decider[S, C],
    stream_id: str,
    command: C,
    *,
    meta: Metadata,
    now: datetime,
    event_ids: Callable[[int], UUID],
    attempts: int = ATTEMPTS,
) -> Outcome[S]:
    """A reactor's command, inside the consumer's open transaction ``tx``.

    The ``n``-th event gets id ``event_ids(n)`` (derive it from the cause with
    :func:`~passend_backbone.consumers.kinds.reaction_id`): a cause handled again finds
    its events stored and appends nothing. A user's command that got to the stream first
    makes this decide again on the new state (the store's refusal leaves ``tx`` usable).
    A refusal of the decider is raised: a reactor that may be refused catches it.
    """
    for _ in range(attempts):
        records = await store.read_stream(stream_id, conn=tx)
        state = decider.fold_stored(records)
        events = decider.events_for(state, command, now)
        if not events:
            return Outcome(stream_id, state, [], len(records))
        new = [NewEvent.of(e, event_id=event_ids(i)) for i, e in enumerate(events)]
        try:
            recorded = await store.append(stream_id, len(records), new, meta, conn=tx)
        except ConcurrencyError:
            continue
        return Outcome(stream_id, decider.fold(events, state), recorded, len(records))
    raise Refusal.conflict("concurrency", f"stream {stream_id} kept changing while reacting")
