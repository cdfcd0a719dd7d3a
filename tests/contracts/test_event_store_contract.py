"""The event store port's contract, proven of PostgreSQL and of the in-memory twin alike.

Every test here runs against both (``backend`` is parametrised by implementation), so a
test that passes in memory in milliseconds says what PostgreSQL would have done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from passend_backbone.eventstore import ConcurrencyError, EventStore, Metadata, NewEvent
from tests.contracts.backends import StoreBackend, rolled_back

META = Metadata(swv="swv", actor="user-7", correlation_id="corr-1", causation_id="cmd-1")


def new(n: int, **data: object) -> NewEvent:
    return NewEvent("nl.passend.test.Happened.v1", {"n": n, **data})


@pytest.fixture
def store(backend: StoreBackend) -> EventStore:
    return backend.store


async def test_the_port_is_implemented(store: EventStore) -> None:
    assert isinstance(store, EventStore)
    assert store.source == "/passend/test"


async def test_append_to_a_new_stream_and_read_it_back_in_version_order(store: EventStore) -> None:
    first = await store.append("case-1", 0, [new(1), new(2)], META)
    other = await store.append("case-2", 0, [new(10)], META)
    more = await store.append("case-1", 2, [new(3)], META)

    assert [e.stream_version for e in first + more] == [1, 2, 3]
    positions = [e.position for e in first + other + more]
    assert positions == sorted(positions) and len(set(positions)) == 4
    read = await store.read_stream("case-1")
    assert read == first + more  # what the append returned is what a read gives
    assert [e.data["n"] for e in read] == [1, 2, 3]
    assert [(e.swv, e.actor, e.correlation_id, e.causation_id) for e in read] == [
        ("swv", "user-7", "corr-1", "cmd-1")
    ] * 3
    assert read[1].prev_hash == read[0].hash and read[2].prev_hash == read[1].hash
    assert await store.read_stream("case-none") == []


async def test_data_reads_back_as_stored_sorted_json_tuples_as_lists(store: EventStore) -> None:
    data = {"zeta": 1, "alpha": (1, 2), "nested": {"y": [3.5, None], "b": "Zoë ✓"}, "n": 0}
    [appended] = await store.append("case-1", 0, [NewEvent("t.v1", data)], META)
    [read] = await store.read_stream("case-1")

    want = {"alpha": [1, 2], "n": 0, "nested": {"b": "Zoë ✓", "y": [3.5, None]}, "zeta": 1}
    assert read.data == want
    assert appended.data == want  # the append gives back what a read will
    assert list(read.data) == sorted(read.data)
    assert list(read.data["nested"]) == ["b", "y"]


async def test_a_stale_expected_version_raises_and_writes_nothing(store: EventStore) -> None:
    await store.append("case-1", 0, [new(1)], META)
    with pytest.raises(ConcurrencyError) as info:
        await store.append("case-1", 0, [new(2), new(3)], META)
    assert (info.value.stream_id, info.value.expected, info.value.actual) == ("case-1", 0, 1)
    with pytest.raises(ConcurrencyError):
        await store.append("case-1", 5, [new(4)], META)

    assert await store.stream_version("case-1") == 1
    assert [e.data["n"] for e in await store.read_all()] == [1]


async def test_an_append_of_stored_event_ids_is_a_no_op_returning_the_stored_events(
    store: EventStore,
) -> None:
    events = [new(1), new(2)]
    stored = await store.append("case-1", 0, events, META)
    heard: list[str] = []
    store.add_append_listener(lambda: heard.append("appended"))

    # A reactor running again with the same deterministic ids and a stale version.
    again = await store.append("case-1", 0, events, META)

    assert again == stored
    assert await store.stream_version("case-1") == 2
    assert len(await store.read_all()) == 2
    assert heard == []  # nothing was written, so nobody hears of it


async def test_read_all_after_a_position_with_a_limit(store: EventStore) -> None:
    await store.append("a", 0, [new(1), new(2)], META)
    await store.append("b", 0, [new(3)], META)
    await store.append("a", 2, [new(4)], META)
    everything = await store.read_all()
    assert [(e.stream_id, e.data["n"]) for e in everything] == [
        ("a", 1),
        ("a", 2),
        ("b", 3),
        ("a", 4),
    ]

    first = everything[0].position
    page = await store.read_all(first, limit=2)
    assert [e.data["n"] for e in page] == [2, 3]
    assert [e.data["n"] for e in await store.read_all(page[-1].position)] == [4]
    assert await store.read_all(everything[-1].position) == []


async def test_stream_version(store: EventStore) -> None:
    assert await store.stream_version("case-1") == 0
    await store.append("case-1", 0, [new(1), new(2)], META)
    await store.append("case-2", 0, [new(3)], META)
    assert await store.stream_version("case-1") == 2
    assert await store.stream_version("case-2") == 1


async def test_read_stream_as_of_gives_what_had_occurred_by_then(store: EventStore) -> None:
    t0 = datetime(2027, 1, 1, 9, tzinfo=UTC)
    events = [NewEvent("t.v1", {"n": i}, occurred_at=t0 + timedelta(days=i)) for i in range(1, 4)]
    await store.append("case-1", 0, events, META)

    assert [e.data["n"] for e in await store.read_stream("case-1", as_of=t0)] == []
    as_of = await store.read_stream("case-1", as_of=t0 + timedelta(days=2))
    assert [e.data["n"] for e in as_of] == [1, 2]
    assert as_of[0].occurred_at == t0 + timedelta(days=1)


async def test_append_listeners_hear_of_appends_that_wrote(store: EventStore) -> None:
    heard: list[str] = []

    def failing() -> None:
        raise RuntimeError("listener broke")

    store.add_append_listener(lambda: heard.append("a"))
    store.add_append_listener(failing)  # logged and swallowed: the append stands
    store.add_append_listener(lambda: heard.append("b"))
    await store.append("case-1", 0, [new(1)], META)
    assert heard == ["a", "b"]
    with pytest.raises(ConcurrencyError):
        await store.append("case-1", 0, [new(2)], META)
    assert heard == ["a", "b"]
    assert await store.stream_version("case-1") == 1


async def test_verify_holds_and_names_a_tampered_event(backend: StoreBackend) -> None:
    store = backend.store
    for case in ("case-a", "case-b"):
        await store.append(case, 0, [new(1), new(2), new(3)], META)
    report = await store.verify()
    assert (report.ok, report.streams_checked, report.events_checked) == (True, 2, 6)

    [_, victim, _] = await store.read_stream("case-b")
    await backend.tamper(victim, {"n": 99})

    report = await store.verify()
    assert not report.ok
    assert report.first_break is not None
    assert (report.first_break.stream_id, report.first_break.stream_version) == ("case-b", 2)
    assert "changed" in report.first_break.reason
    assert report.first_break.expected != report.first_break.actual
    assert (report.streams_checked, report.events_checked, report.broken_streams) == (2, 6, 1)


async def test_an_append_in_a_transaction_that_rolls_back_leaves_nothing(
    backend: StoreBackend,
) -> None:
    store = backend.store
    async with rolled_back(backend.transaction()) as conn:
        await store.append("case-1", 0, [new(1), new(2)], META, conn=conn)
        assert await store.stream_version("case-1", conn=conn) == 2

    assert await store.read_stream("case-1") == []
    assert await store.stream_version("case-1") == 0
    assert await store.read_all() == []
    assert (await store.verify()).events_checked == 0
    # The stream is new again, and the same ids may be appended anew.
    [again] = await store.append("case-1", 0, [new(3)], META)
    assert again.stream_version == 1


async def test_an_append_in_a_transaction_that_commits_stays(backend: StoreBackend) -> None:
    store = backend.store
    event = new(1)
    async with backend.transaction() as conn:
        await store.append("case-1", 0, [event], META, conn=conn)
    [read] = await store.read_stream("case-1")
    assert read.event_id == event.event_id
    assert (await store.verify()).ok


async def test_positions_keep_increasing_after_a_rollback(backend: StoreBackend) -> None:
    # The outbox relay and read_all pages trust positions to grow: a position taken by a
    # transaction that rolled back is never given to a later event.
    store = backend.store
    [before] = await store.append("case-0", 0, [new(0)], META)
    async with rolled_back(backend.transaction()) as conn:
        await store.append("case-1", 0, [new(1)], META, conn=conn)
        [meanwhile] = await store.append("case-2", 0, [new(2)], META)
    [after] = await store.append("case-3", 0, [new(3)], META)

    assert before.position < meanwhile.position < after.position
    assert [e.data["n"] for e in await store.read_all()] == [0, 2, 3]
    assert [e.data["n"] for e in await store.read_all(meanwhile.position)] == [3]


async def test_an_append_of_nothing_writes_nothing(store: EventStore) -> None:
    assert await store.append("case-1", 0, [], META) == []
    assert await store.stream_version("case-1") == 0


async def test_one_append_may_not_hold_an_event_id_twice(store: EventStore) -> None:
    event = NewEvent("t.v1", {"n": 1}, event_id=uuid4())
    with pytest.raises(ValueError, match="same event id"):
        await store.append("case-1", 0, [event, event], META)
    assert await store.read_all() == []
