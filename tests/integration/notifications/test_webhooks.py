"""Webhooks to a local HTTP receiver: signed, retried with backoff on 500, parked, replayed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from passend_consumerkit.webhooks import WebhookRejected, verify
from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.trajectory import EscalatedToTeamNO, StagnationReason
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually

from .kit import (
    OPERATOR,
    SLOW,
    HookReceiver,
    MovableClock,
    Publisher,
    case_messages,
    fresh_topics,
    hook_receiver,
    notification_settings,
    put_contact,
    running,
    service_settings,
    smtp_server,
    spec_for,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SECRET = "gemeente-schiedam-" + "x" * 20


def escalated(case_id: uuid.UUID) -> EscalatedToTeamNO:
    return EscalatedToTeamNO(
        case_id=case_id,
        municipality="GM0606",
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan="Overbrugging tot de plaatsing",
        escalated_at=NOW,
    )


async def subscribe(http, receiver: HookReceiver, *types: str) -> str:
    hook = {"url": receiver.url, "municipality": "GM0606", "secret": SECRET}
    response = await http.post(
        "/webhooks",
        json={**hook, "event_types": list(types)},
        headers={**OPERATOR, "Idempotency-Key": "sub-1"},
    )
    assert response.status_code == 201, response.text
    retried = await http.post(
        "/webhooks",
        json={**hook, "event_types": list(types)},
        headers={**OPERATOR, "Idempotency-Key": "sub-1"},
    )
    # The same key and body: the first answer again, and no second subscription.
    assert retried.status_code == 201
    assert retried.json() == response.json()
    listed = await http.get("/webhooks", headers=OPERATOR)
    assert [s["id"] for s in listed.json()] == [response.json()["id"]]
    assert "secret" not in response.json()
    return str(response.json()["id"])


async def test_delivery_is_signed_and_retried_with_backoff_after_500(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port, max_attempts=4), clock)
        async with (
            hook_receiver() as receiver,
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await subscribe(http, receiver, EscalatedToTeamNO.event_type)
            receiver.script.extend([500, 500])
            event = await bus.send(escalated(case_id))
            # Another type, not subscribed: must not reach the receiver.
            await bus.send(
                CaseClaimed(
                    case_id=case_id, school_id="s", ib_id="ib", worker_id="w", claimed_at=NOW
                )
            )

            first = await _webhook_message(http, case_id, "retrying", attempts=1)
            # random() is 0.5 in the kit: the wait is 3/4 of base * 2**(n-1) (base 60 s).
            waits = [_seconds_until(first["next_attempt_at"], clock)]
            clock.advance(timedelta(seconds=46))
            second = await _webhook_message(http, case_id, "retrying", attempts=2)
            waits.append(_seconds_until(second["next_attempt_at"], clock))
            clock.advance(timedelta(seconds=91))
            sent = await _webhook_message(http, case_id, "sent", attempts=3)
            assert sent["possible_duplicate"] is False, "a 500 answer is a certain failure"

            assert 40 <= waits[0] <= 45
            assert 85 <= waits[1] <= 90, "the second wait doubles"
            assert [r.status for r in receiver.received] == [500, 500, 200]
            ids = {r.headers["webhook-id"] for r in receiver.received}
            assert len(ids) == 1, "every attempt carries the same delivery id"
            last = receiver.received[-1]
            now = int(clock().timestamp())
            assert verify(last.headers, last.body, [SECRET], now=now) == ids.pop()
            with pytest.raises(WebhookRejected):
                verify(last.headers, last.body, ["wrong-secret-" + "x" * 20], now=now)
            delivered = json.loads(last.body)
            assert delivered["id"] == str(event.id)
            assert delivered["type"] == EscalatedToTeamNO.event_type
            assert last.headers["passend-event-type"] == EscalatedToTeamNO.event_type
            assert all(r.body == last.body for r in receiver.received), "same bytes each time"


async def test_parked_after_the_last_attempt_and_replayed_by_an_operator(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port, max_attempts=2), clock)
        async with (
            hook_receiver() as receiver,
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await subscribe(http, receiver, EscalatedToTeamNO.event_type)
            receiver.script.extend([500, 503])
            await bus.send(escalated(case_id))
            await _webhook_message(http, case_id, "retrying", attempts=1)
            clock.advance(timedelta(minutes=5))
            parked = await _webhook_message(http, case_id, "parked", attempts=2)
            assert parked["last_reason"] == "endpoint answered HTTP 503"

            listed = await http.get("/messages/parked", headers=OPERATOR)
            reasons = {m["message_id"]: m["reason"] for m in listed.json()}
            assert reasons[parked["message_id"]] == "endpoint answered HTTP 503"
            # The Team NO e-mail of the same event has no address yet: parked as well.
            [mail] = [m for m in await case_messages(http, case_id) if m["channel"] == "email"]
            assert mail["status"] == "parked"
            assert "no e-mail address for team_no team_no:GM0606" in reasons[mail["message_id"]]

            # Parked means parked: with time moved on, the worker delivers the replayed
            # e-mail but leaves the parked webhook alone.
            clock.advance(timedelta(hours=5))
            await put_contact(http, "team_no:GM0606", "teamno@schiedam.test")
            replay = await http.post(f"/messages/{mail['message_id']}/replay", headers=OPERATOR)
            assert replay.status_code == 202, replay.text
            await eventually(
                lambda: _true(len(smtp.sink.to("teamno@schiedam.test")) == 1),
                what="replayed Team NO e-mail",
            )
            assert len(receiver.received) == 2

            replay = await http.post(f"/messages/{parked['message_id']}/replay", headers=OPERATOR)
            assert replay.status_code == 202, replay.text
            await _webhook_message(http, case_id, "sent", attempts=3)
            assert [r.status for r in receiver.received] == [500, 503, 200]
            assert (await http.get("/messages/parked", headers=OPERATOR)).json() == []


async def test_a_timed_out_delivery_is_retried_and_recorded_as_possible_duplicate(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        settings = notification_settings(smtp.port, webhook_timeout_seconds=0.5)
        spec = spec_for(topics, settings, clock)
        async with (
            hook_receiver() as receiver,
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await subscribe(http, receiver, EscalatedToTeamNO.event_type)
            receiver.script.append(SLOW)
            await bus.send(escalated(case_id))
            first = await _webhook_message(http, case_id, "retrying", attempts=1)
            assert first["last_reason"].startswith("endpoint did not answer")
            clock.advance(timedelta(minutes=2))
            sent = await _webhook_message(http, case_id, "sent", attempts=2)
            assert sent["possible_duplicate"] is True
            ids = {r.headers["webhook-id"] for r in receiver.received}
            assert len(receiver.received) == 2
            assert len(ids) == 1, "the receiver can tell the second copy by its delivery id"


async def _webhook_message(http, case_id: uuid.UUID, status: str, attempts: int) -> dict:
    async def probe() -> dict | None:
        messages = await case_messages(http, case_id)
        hooks = [m for m in messages if m["channel"] == "webhook"]
        assert len(hooks) <= 1
        if hooks and hooks[0]["status"] == status and hooks[0]["attempts"] == attempts:
            return hooks[0]
        return None

    return await eventually(probe, timeout=30, what=f"webhook {status} after {attempts}")


async def _true(value: bool) -> bool:
    return value


def _seconds_until(moment: str, clock: MovableClock) -> float:
    return (datetime.fromisoformat(moment) - clock()).total_seconds()
