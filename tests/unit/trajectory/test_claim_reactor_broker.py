"""The claim reactor behind the backbone's consumers on FastStream's in-memory broker: a
``CaseClaimed`` opens the trajectory once, also when the record comes twice (W25)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from faststream.kafka import KafkaBroker, TestKafkaBroker

from passend_backbone.consumer import Consumers, MemoryBookkeeping, MemoryDeadLetters
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.reactors import ClaimReactor

SWV = "swv-waterweg"
T0 = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)


def claimed_event(case_id: UUID) -> CloudEvent:
    claim = CaseClaimed(
        case_id=case_id, school_id="brin-11aa", ib_id="ib-1", worker_id="ow-1", claimed_at=T0
    )
    return CloudEvent(
        id=uuid4(),
        source="/passend/assignment",
        type=claim.event_type,
        subject=str(case_id),
        time=T0,
        swv=SWV,
        correlationid=str(uuid4()),
        causationid=f"cmd:{uuid4()}",
        actor="ow-1",
        streamversion=1,
        position=1,
        data=claim.model_dump(mode="json"),
    )


async def test_w25_a_claim_on_the_broker_opens_the_trajectory_once_even_when_sent_twice() -> None:
    store = InMemoryEventStore("/passend/trajectory")
    bookkeeping = MemoryBookkeeping()
    dead_letters = MemoryDeadLetters()
    consumers = Consumers(
        service="trajectory",
        reactors=[ClaimReactor(lambda: T0)],
        store=store,
        bookkeeping=bookkeeping,
        dead_letters=dead_letters,
        broker=KafkaBroker(),
    )
    consumers.register()
    case_id = uuid4()
    event = claimed_event(case_id)
    key, headers, value = event.to_kafka()
    async with TestKafkaBroker(consumers.broker) as br:
        for _ in range(2):  # the same record again, as after a lost offset commit
            await br.publish(
                value,
                topic=topics.ASSIGNMENT,
                key=key,
                headers={k: v.decode() for k, v in headers},
            )
    records = await store.read_stream(str(case_id))
    assert [r.event_type.split(".")[-2] for r in records] == [
        "TrajectoryOpened",
        "CaseDirectorChanged",
    ]
    assert records[0].causation_id == str(event.id)
    opened = DECIDER.fold_stored(records).opened
    assert opened is not None
    assert (opened.worker_id, opened.school_id) == ("ow-1", "brin-11aa")
    assert ("claims", event.id) in bookkeeping.handled
    assert dead_letters.sent == []
    assert bookkeeping.transactions.committed >= 1
