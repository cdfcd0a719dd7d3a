"""An operator replays only a parked message: decided on the case's own notification events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    MemoryIdempotency,
    MemoryTransactions,
    Refusal,
    RefusalKind,
    execute,
)
from passend_backbone.eventstore import Metadata, NewEvent
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_contracts.events.base import EventPayload
from passend_contracts.events.notifications import (
    NotificationFailed,
    NotificationParked,
    NotificationReplayed,
    NotificationScheduled,
    NotificationSent,
)
from passend_notifications.domain.replay import REPLAY, Replay

from .factories import NOW, SWV

CASE = uuid.uuid4()
MESSAGE = uuid.uuid4()


def scheduled(message_id: uuid.UUID = MESSAGE) -> NotificationScheduled:
    return NotificationScheduled(
        message_id=message_id,
        case_id=CASE,
        recipient_role="ib",
        recipient_id="ib-7",
        template="zaak_geclaimd",
        caused_by_event=uuid.uuid4(),
        scheduled_at=NOW,
        channel="email",
        rule="W26",
    )


def failed(attempt: int, *, again: bool) -> NotificationFailed:
    return NotificationFailed(
        message_id=MESSAGE,
        case_id=CASE,
        channel="email",
        attempt=attempt,
        reason="550 no such user",
        next_attempt_at=NOW + timedelta(minutes=1) if again else None,
        failed_at=NOW,
    )


def parked() -> NotificationParked:
    return NotificationParked(
        message_id=MESSAGE,
        case_id=CASE,
        channel="email",
        attempts=2,
        reason="550 no such user",
        parked_at=NOW,
    )


def sent() -> NotificationSent:
    return NotificationSent(
        message_id=MESSAGE,
        case_id=CASE,
        channel="email",
        recipient_role="ib",
        recipient_id="ib-7",
        attempt=1,
        content_sha256="0" * 64,
        sent_at=NOW,
    )


def replayed() -> NotificationReplayed:
    return NotificationReplayed(
        message_id=MESSAGE, case_id=CASE, channel="email", requested_by="op-1", replayed_at=NOW
    )


PARKED = [scheduled(), failed(1, again=True), failed(2, again=False), parked()]


def refusal(events: list[EventPayload], message_id: uuid.UUID = MESSAGE) -> Refusal:
    with pytest.raises(Refusal) as refused:
        REPLAY.events_for(REPLAY.fold(events), Replay(message_id, "op-1"), NOW)
    return refused.value


def test_a_parked_message_is_replayed_with_its_case_and_channel() -> None:
    [event] = REPLAY.events_for(REPLAY.fold(PARKED), Replay(MESSAGE, "op-1"), NOW)
    assert event == replayed()


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([scheduled()], "pending"),
        ([scheduled(), failed(1, again=True)], "pending"),
        ([*PARKED, replayed()], "pending"),
        ([scheduled(), sent()], "sent"),
    ],
)
def test_a_message_on_its_way_or_sent_is_not_replayed(
    events: list[EventPayload], status: str
) -> None:
    refused = refusal(events)
    assert refused.kind is RefusalKind.CONFLICT
    assert refused.message.startswith(f"message is {status}, not parked")


def test_an_unknown_message_is_not_found() -> None:
    assert refusal(PARKED, uuid.uuid4()).kind is RefusalKind.NOT_FOUND
    assert refusal([scheduled(uuid.uuid4())]).message == "no such message"


async def test_replayed_once_per_idempotency_key_on_the_in_memory_ports() -> None:
    store = InMemoryEventStore()
    ports = CommandPorts(store, MemoryTransactions(), MemoryIdempotency())
    meta = Metadata(swv=SWV, actor="op-1", correlation_id="c-1", causation_id="cmd-1")
    await store.append(str(CASE), 0, [NewEvent.of(e) for e in PARKED], meta)

    async def replay(key: str | None, message_id: uuid.UUID = MESSAGE) -> object:
        answer = await execute(
            ports,
            REPLAY,
            str(CASE),
            Replay(message_id, "op-1"),
            tenant=SWV,
            meta=meta,
            now=NOW,
            key=IdempotencyKey.of(SWV, "op-1", key, "replay", {"message_id": str(message_id)}),
        )
        return answer.body

    first = await replay("k-1")
    assert await replay("k-1") == first, "the retry gets the first answer"
    types = [r.event_type for r in await store.read_stream(str(CASE))]
    assert types.count(NotificationReplayed.event_type) == 1
    with pytest.raises(Refusal) as other_body:
        await replay("k-1", uuid.uuid4())
    assert other_body.value.kind is RefusalKind.INVALID
    with pytest.raises(Refusal) as without_key:
        await replay(None)
    assert without_key.value.kind is RefusalKind.CONFLICT, "replayed: pending, no longer parked"
