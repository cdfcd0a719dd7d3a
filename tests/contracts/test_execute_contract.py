"""``execute`` and ``decide_and_append`` on both twins of the ports, with a counter decider.

One transaction per command: claim the key, read and fold, check, decide, append, the
``after`` hook, remember the answer, commit; a lost race decided again on the new state.
Each test runs on PostgreSQL (as the tenant, under row-level security) and in memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    Outcome,
    Refusal,
    RefusalKind,
    StoredAnswer,
    decide_and_append,
    execute,
)
from passend_backbone.commands.execute import ATTEMPTS
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import (
    ConcurrencyError,
    EventStore,
    Metadata,
    NewEvent,
    RecordedEvent,
    VerificationReport,
)
from tests.contracts.backends import CommandBackend, rolled_back
from tests.contracts.counter import LIMIT, Add, Count, Counted, Decisions

SWV = "swv-1"
STREAM = "counter-1"
NOW = datetime(2027, 3, 2, 9, 30, tzinfo=UTC)
META = Metadata(swv=SWV, actor="user-7", correlation_id="corr-1", causation_id="cmd-1")


class Broken(Exception):
    """An ``after`` hook's failure, after it wrote its row."""


def key_for(command: Add, key: str = "key-1") -> IdempotencyKey:
    made = IdempotencyKey.of(SWV, "user-7", key, "add", dataclasses.asdict(command))
    assert made is not None
    return made


async def run(
    ports: CommandPorts, decisions: Decisions, command: Add, **options: Any
) -> StoredAnswer:
    return await execute(
        ports, decisions.decider, STREAM, command, tenant=SWV, meta=META, now=NOW, **options
    )


async def stored(commands: CommandBackend) -> list[RecordedEvent]:
    return await commands.ports.store.read_all()


async def key_is_free(commands: CommandBackend, key: IdempotencyKey) -> bool:
    """Whether ``key`` was never claimed for good (tried in a transaction rolled back)."""
    free: list[bool] = []
    async with rolled_back(commands.ports.transactions.tenant(SWV)) as tx:
        free.append(await commands.ports.idempotency.claim(tx, key) is None)
    return free[0]


async def test_a_command_appends_its_events_and_answers(
    commands: CommandBackend, decisions: Decisions
) -> None:
    answer = await run(commands.ports, decisions, Add(1))

    [event] = await stored(commands)
    assert (event.stream_id, event.stream_version, event.event_type) == (
        STREAM,
        1,
        Counted.event_type,
    )
    assert event.data == {"by": 1, "seen": 0}
    assert (event.swv, event.actor, event.causation_id) == (SWV, "user-7", "cmd-1")
    assert answer == StoredAnswer(
        200,
        {
            "case_id": STREAM,
            "version": 1,
            "events": [{"id": str(event.event_id), "type": Counted.event_type, "version": 1}],
        },
    )

    def count_answer(outcome: Outcome[Count]) -> StoredAnswer:
        return StoredAnswer(201, {"count": outcome.state.value, "version": outcome.version})

    assert await run(commands.ports, decisions, Add(2), answer=count_answer) == StoredAnswer(
        201, {"count": 3, "version": 2}
    )
    assert decisions.seen == [0, 1]


@pytest.mark.parametrize(
    ("command", "kind", "rule"),
    [
        (Add(0), RefusalKind.INVALID, "T1"),  # decide returns its refusal
        (Add(LIMIT + 1), RefusalKind.CONFLICT, "T2"),  # decide raises it
    ],
)
async def test_a_refusal_returned_or_raised_writes_nothing_and_claims_no_key(
    commands: CommandBackend, decisions: Decisions, command: Add, kind: RefusalKind, rule: str
) -> None:
    key = key_for(command)
    with pytest.raises(Refusal) as info:
        await run(commands.ports, decisions, command, key=key)

    assert (info.value.kind, info.value.rule) == (kind, rule)
    assert decisions.seen == [0]
    assert await stored(commands) == []
    assert await key_is_free(commands, key)
    # Asked again with the same key, it is decided again (and refused again).
    with pytest.raises(Refusal):
        await run(commands.ports, decisions, command, key=key)
    assert decisions.seen == [0, 0]


async def test_a_refusing_check_comes_before_deciding_and_leaves_nothing(
    commands: CommandBackend, decisions: Decisions
) -> None:
    await run(commands.ports, decisions, Add(1))
    checked: list[tuple[int, int]] = []

    def check(state: Count, records: Sequence[RecordedEvent]) -> None:
        checked.append((state.value, len(records)))
        raise Refusal.not_found("T3", "no such counter within your reach")

    key = key_for(Add(1), "key-2")
    with pytest.raises(Refusal) as info:
        await run(commands.ports, decisions, Add(1), key=key, check=check)

    assert info.value.kind is RefusalKind.NOT_FOUND
    assert checked == [(1, 1)]  # it saw the folded state and the stored events
    assert decisions.seen == [0]  # only the first command was decided
    assert len(await stored(commands)) == 1
    assert await key_is_free(commands, key)


async def test_the_after_hook_commits_with_the_events(
    commands: CommandBackend, decisions: Decisions
) -> None:
    async def after(tx: Any, outcome: Outcome[Count]) -> None:
        await commands.write_side_effect(tx, outcome.stream_id, outcome.version)

    await run(commands.ports, decisions, Add(1), after=after)
    await run(commands.ports, decisions, Add(1), after=after)

    assert [e.stream_version for e in await stored(commands)] == [1, 2]
    assert await commands.side_effects() == [(STREAM, 1), (STREAM, 2)]


async def test_the_after_hook_rolls_back_with_the_events(
    commands: CommandBackend, decisions: Decisions
) -> None:
    async def after(tx: Any, outcome: Outcome[Count]) -> None:
        await commands.write_side_effect(tx, outcome.stream_id, outcome.version)
        raise Broken("the timer row could not be kept")

    key = key_for(Add(1))
    with pytest.raises(Broken):
        await run(commands.ports, decisions, Add(1), after=after, key=key)

    assert await stored(commands) == []
    assert await commands.side_effects() == []
    assert await key_is_free(commands, key)


async def test_a_retry_with_the_key_gets_the_first_answer_without_deciding_again(
    commands: CommandBackend, decisions: Decisions
) -> None:
    key = key_for(Add(1))
    first = await run(commands.ports, decisions, Add(1), key=key)
    again = await run(commands.ports, decisions, Add(1), key=key)

    assert again == first
    assert decisions.seen == [0]
    assert [e.stream_version for e in await stored(commands)] == [1]
    with pytest.raises(Refusal) as info:  # the same key for another request
        await run(commands.ports, decisions, Add(2), key=key_for(Add(2), key.key))
    assert (info.value.kind, info.value.rule) == (RefusalKind.INVALID, "idempotency")


async def test_two_concurrent_requests_with_one_key_act_once(
    commands: CommandBackend, decisions: Decisions
) -> None:
    key = key_for(Add(1))
    answers = await asyncio.wait_for(
        asyncio.gather(*(run(commands.ports, decisions, Add(1), key=key) for _ in range(2))),
        timeout=30,
    )

    assert answers[0] == answers[1]
    assert decisions.seen == [0]  # the second waited for the first's claim, then got its answer
    assert [e.stream_version for e in await stored(commands)] == [1]


async def test_the_loser_of_a_race_decides_again_on_the_winners_state(
    commands: CommandBackend, decisions: Decisions
) -> None:
    # Both read the empty stream and decide on it; one appends first, and the other's
    # append at the version it read fails, so it reads again and decides on count 1.
    both_read = asyncio.Barrier(2)
    arrivals: list[int] = []

    async def prepare(tx: Any, state: Count) -> Add:
        arrivals.append(state.value)
        if len(arrivals) <= 2:
            await both_read.wait()
        return Add(1)

    async def command() -> StoredAnswer:
        return await execute(
            commands.ports,
            decisions.decider,
            STREAM,
            prepare=prepare,
            tenant=SWV,
            meta=META,
            now=NOW,
        )

    answers = await asyncio.wait_for(asyncio.gather(command(), command()), timeout=30)

    assert sorted(a.body["version"] for a in answers) == [1, 2]
    assert arrivals == [0, 0, 1]
    assert decisions.seen == [0, 0, 1]  # both decided, the loser twice
    events = await stored(commands)
    assert [(e.stream_version, e.data["seen"]) for e in events] == [(1, 0), (2, 1)]
    assert (await commands.ports.store.verify()).ok


class AlwaysLosing:
    """An event store whose every append finds that someone else got there first."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.source = inner.source
        self.appends = 0

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
        *,
        conn: Any = None,
    ) -> list[RecordedEvent]:
        self.appends += 1
        raise ConcurrencyError(stream_id, expected_version, expected_version + 1)

    async def read_stream(
        self, stream_id: str, *, as_of: datetime | None = None, conn: Any = None
    ) -> list[RecordedEvent]:
        return await self.inner.read_stream(stream_id, as_of=as_of, conn=conn)

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: Any = None
    ) -> list[RecordedEvent]:
        return await self.inner.read_all(after_position, limit, conn=conn)

    async def stream_version(self, stream_id: str, conn: Any = None) -> int:
        return await self.inner.stream_version(stream_id, conn=conn)

    def add_append_listener(self, callback: Callable[[], None]) -> None:
        self.inner.add_append_listener(callback)

    async def verify(self) -> VerificationReport:
        return await self.inner.verify()


async def test_a_stream_that_keeps_moving_is_a_conflict_after_the_attempts(
    commands: CommandBackend, decisions: Decisions
) -> None:
    losing = AlwaysLosing(commands.ports.store)
    ports = dataclasses.replace(commands.ports, store=losing)
    key = key_for(Add(1))

    with pytest.raises(Refusal) as info:
        await run(ports, decisions, Add(1), key=key)

    assert (info.value.kind, info.value.rule) == (RefusalKind.CONFLICT, "concurrency")
    assert losing.appends == ATTEMPTS
    assert decisions.seen == [0] * ATTEMPTS
    assert await stored(commands) == []
    assert await key_is_free(commands, key)


async def test_execute_takes_a_command_or_a_prepare_function(
    commands: CommandBackend, decisions: Decisions
) -> None:
    async def prepare(tx: Any, state: Count) -> Add:
        return Add(LIMIT - state.value)  # fill the counter up

    with pytest.raises(TypeError):
        await execute(commands.ports, decisions.decider, STREAM, tenant=SWV, meta=META, now=NOW)
    with pytest.raises(TypeError):
        await execute(
            commands.ports,
            decisions.decider,
            STREAM,
            Add(1),
            prepare=prepare,
            tenant=SWV,
            meta=META,
            now=NOW,
        )
    await run(commands.ports, decisions, Add(1))
    answer = await execute(
        commands.ports, decisions.decider, STREAM, prepare=prepare, tenant=SWV, meta=META, now=NOW
    )
    assert answer.body["version"] == 2
    assert [e.data["by"] for e in await stored(commands)] == [1, LIMIT - 1]


async def test_decide_and_append_with_deterministic_ids_appends_once_when_run_twice(
    commands: CommandBackend, decisions: Decisions
) -> None:
    cause = uuid4()
    outcomes: list[Outcome[Count]] = []
    for _ in range(2):  # the cause delivered twice, each time in a consumer's transaction
        async with commands.consumer_transaction() as tx:
            outcomes.append(
                await decide_and_append(
                    commands.ports.store,
                    tx,
                    decisions.decider,
                    STREAM,
                    Add(1),
                    meta=META,
                    now=NOW,
                    event_ids=lambda n: reaction_id("counter", cause, n),
                )
            )

    [event] = await stored(commands)
    assert event.event_id == reaction_id("counter", cause, 0)
    assert [o.recorded for o in outcomes] == [[event], [event]]
    assert outcomes[0].state == Count(1)


async def test_decide_and_append_rolls_back_with_the_consumers_transaction(
    commands: CommandBackend, decisions: Decisions
) -> None:
    cause = uuid4()
    async with rolled_back(commands.consumer_transaction()) as tx:  # the batch failed
        await decide_and_append(
            commands.ports.store,
            tx,
            decisions.decider,
            STREAM,
            Add(1),
            meta=META,
            now=NOW,
            event_ids=lambda n: reaction_id("counter", cause, n),
        )
    assert await stored(commands) == []
