"""Webhooks are an integration channel, not a side door (issue 25).

A subscriber of one municipality receives only that municipality's cases, with the
allow-listed fields of the gateway's topics; events before the municipality is known are
held and then delivered. Secrets are sealed at rest; during a rotation each delivery
carries two signatures, both verifying; after the overlap only the new one.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from passend_backbone.auth import Role
from passend_consumerkit.webhooks import SIGNATURE_HEADER, WebhookRejected, verify
from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    StagnationReason,
    TeamNODecisionRecorded,
    TrajectoryClosed,
    YouthCareNoted,
)
from passend_contracts.integration import MUNICIPALITY_FIELDS
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually

from .kit import (
    OPERATOR,
    SWV,
    HookReceiver,
    MovableClock,
    Publisher,
    Received,
    case_messages,
    fresh_topics,
    hook_receiver,
    notification_settings,
    running,
    service_settings,
    smtp_server,
    spec_for,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SCHIEDAM, VLAARDINGEN = "GM0606", "GM0622"
OLD = "gemeente-schiedam-oud-" + "x" * 20
NEW = "gemeente-schiedam-nieuw-" + "y" * 20
OTHER = "gemeente-vlaardingen-" + "z" * 20
TYPES = sorted(MUNICIPALITY_FIELDS)


def escalated(case_id: uuid.UUID, municipality: str) -> EscalatedToTeamNO:
    return EscalatedToTeamNO(
        case_id=case_id,
        municipality=municipality,
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan="Overbrugging tot de plaatsing",
        escalated_at=NOW,
        escalated_by="w-1",
    )


def noted(case_id: uuid.UUID, reason: str) -> YouthCareNoted:
    return YouthCareNoted(
        case_id=case_id, wijkteam_worker_id="wt-1", reason=reason, noted_by="w-1", noted_at=NOW
    )


async def subscribe(http, receiver: HookReceiver, municipality: str, secret: str) -> str:
    body = {
        "url": receiver.url,
        "municipality": municipality,
        "event_types": TYPES,
        "secret": secret,
    }
    response = await http.post("/webhooks", json=body, headers=OPERATOR)
    assert response.status_code == 201, response.text
    assert response.json()["municipality"] == municipality
    assert secret not in response.text, "the secret is never shown again"
    return str(response.json()["id"])


async def arrived(receiver: HookReceiver, count: int, what: str) -> list[Received]:
    async def probe() -> list[Received] | None:
        return receiver.received if len(receiver.received) >= count else None

    await eventually(probe, timeout=30, what=what)
    return receiver.received


def delivered(received: Received) -> dict:
    return json.loads(received.body)


async def test_r_a_subscriber_gets_only_its_municipality_minimised_and_rotation_overlaps(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            hook_receiver() as schiedam,
            hook_receiver() as vlaardingen,
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            hook = await subscribe(http, schiedam, SCHIEDAM, OLD)
            await subscribe(http, vlaardingen, VLAARDINGEN, OTHER)

            # Before the escalation no one knows the municipality: held, then delivered.
            early = await bus.send(noted(ours, "zorg thuis"))
            await bus.send(
                CaseClaimed(case_id=ours, school_id="s", ib_id="ib", worker_id="w", claimed_at=NOW)
            )
            escalation = await bus.send(escalated(ours, SCHIEDAM))
            await bus.send(escalated(theirs, VLAARDINGEN))
            closed = await bus.send(TrajectoryClosed(case_id=ours, closed_by="w-1", closed_at=NOW))

            received = await arrived(schiedam, 3, "Schiedam's three events")
            [theirs_received] = await arrived(vlaardingen, 1, "Vlaardingen's escalation")
            # The youth care noted before the escalation was held and came with it; the
            # claim is on no municipality's channel.
            assert sorted(delivered(r)["id"] for r in received) == sorted(
                str(e.id) for e in (early, escalation, closed)
            )
            assert delivered(theirs_received)["data"]["case_id"] == str(theirs)
            for r in [*received, theirs_received]:
                event = delivered(r)
                assert set(event["data"]) <= MUNICIPALITY_FIELDS[event["type"]], event["type"]
                assert event["actor"] == event["source"] and event["onbehalfof"] is None
            assert {delivered(r)["data"]["case_id"] for r in received} == {str(ours)}
            [shown] = [delivered(r) for r in received if delivered(r)["id"] == str(escalation.id)]
            assert "escalated_by" not in shown["data"]
            assert shown["data"]["municipality"] == SCHIEDAM
            now = int(clock().timestamp())
            for r in received:
                assert verify(r.headers, r.body, [OLD], now=now) == r.headers["webhook-id"]
            with pytest.raises(WebhookRejected):
                verify(theirs_received.headers, theirs_received.body, [OLD], now=now)

            # The secrets are sealed at rest: not in the table in any form we sent.
            db = await asyncpg.connect(db_url)
            try:
                rows = await db.fetch("SELECT * FROM webhook_subscriptions")
            finally:
                await db.close()
            stored = repr([dict(r) for r in rows]).encode()
            for secret in (OLD, OTHER):
                assert secret.encode() not in stored

            # Rotation with an overlap: both signatures, each verifying on its own.
            rotated = await http.post(
                f"/webhooks/{hook}/secret",
                json={"secret": NEW, "overlap_seconds": 3600},
                headers={**OPERATOR, "Idempotency-Key": "rotate-1"},
            )
            assert rotated.status_code == 200, rotated.text
            assert rotated.json()["previous_valid_until"] is not None
            retried = await http.post(
                f"/webhooks/{hook}/secret",
                json={"secret": NEW, "overlap_seconds": 3600},
                headers={**OPERATOR, "Idempotency-Key": "rotate-1"},
            )
            assert (retried.status_code, retried.json()) == (200, rotated.json()), "rotated once"
            await bus.send(
                TeamNODecisionRecorded(
                    case_id=ours,
                    decision="Plaatsing met overbrugging",
                    assignment="Zoek een plek",
                    provider="Aanbieder A",
                    decided_by="tno-1",
                    decided_at=NOW,
                )
            )
            during = (await arrived(schiedam, 4, "the decision during the overlap"))[3]
            assert len(during.headers[SIGNATURE_HEADER].split(" ")) == 2
            now = int(clock().timestamp())
            assert verify(during.headers, during.body, [OLD], now=now)
            assert verify(during.headers, during.body, [NEW], now=now)

            # After the overlap: only the new secret signs.
            clock.advance(timedelta(hours=2))
            await bus.send(noted(ours, "wijkteam opnieuw"))
            after = (await arrived(schiedam, 5, "an event after the overlap"))[4]
            assert len(after.headers[SIGNATURE_HEADER].split(" ")) == 1
            now = int(clock().timestamp())
            assert verify(after.headers, after.body, [NEW], now=now)
            with pytest.raises(WebhookRejected):
                verify(after.headers, after.body, [OLD], now=now)
            assert len(vlaardingen.received) == 1, "nothing of Schiedam's case went elsewhere"


async def test_rotation_is_refused_for_unknown_removed_or_unchanged_secrets(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            hook_receiver() as receiver,
            running(spec, service_settings(db_url, broker), clock) as http,
        ):
            hook = await subscribe(http, receiver, SCHIEDAM, OLD)
            path = f"/webhooks/{hook}/secret"
            same = await http.post(path, json={"secret": OLD}, headers=OPERATOR)
            assert same.status_code == 422 and same.json()["field"] == "secret"
            short = await http.post(path, json={"secret": "kort"}, headers=OPERATOR)
            assert short.status_code == 422
            unknown = await http.post(
                f"/webhooks/{uuid.uuid4()}/secret", json={"secret": NEW}, headers=OPERATOR
            )
            assert unknown.status_code == 404
            ib = await http.post(path, json={"secret": NEW}, headers=auth_header(Role.IB, SWV))
            assert ib.status_code == 403
            foreign = auth_header(Role.OPERATOR, "swv-other")
            assert (await http.post(path, json={"secret": NEW}, headers=foreign)).status_code == 404
            assert (await http.delete(f"/webhooks/{hook}", headers=OPERATOR)).status_code == 204
            removed = await http.post(
                f"/webhooks/{hook}/secret", json={"secret": NEW}, headers=OPERATOR
            )
            assert removed.status_code == 409


async def test_without_a_key_encryption_key_no_secret_is_taken(db_url: str, broker: Broker) -> None:
    clock, topics = MovableClock(), fresh_topics()
    with smtp_server() as smtp:
        settings = notification_settings(smtp.port, webhook_secret_key=None)
        spec = spec_for(topics, settings, clock)
        async with running(spec, service_settings(db_url, broker), clock) as http:
            body = {
                "url": "https://gemeente.test/hook",
                "municipality": SCHIEDAM,
                "event_types": TYPES,
                "secret": OLD,
            }
            refused = await http.post("/webhooks", json=body, headers=OPERATOR)
            assert refused.status_code == 503
            assert "NOTIFICATIONS_WEBHOOK_SECRET_KEY" in refused.json()["detail"]


async def test_a_secret_sealed_under_another_key_parks_until_rotated(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        async with hook_receiver() as receiver:
            first = spec_for(topics, notification_settings(smtp.port), clock)
            async with running(first, service_settings(db_url, broker), clock) as http:
                hook = await subscribe(http, receiver, SCHIEDAM, OLD)
            # The operator replaced NOTIFICATIONS_WEBHOOK_SECRET_KEY.
            other_key = base64.b64encode(b"q" * 32).decode()
            settings = notification_settings(smtp.port, webhook_secret_key=other_key)
            second = spec_for(topics, settings, clock)
            async with (
                running(second, service_settings(db_url, broker), clock) as http,
                Publisher(broker, topics) as bus,
            ):
                await bus.send(escalated(case_id, SCHIEDAM))
                parked = await webhook_message(http, case_id, "parked")
                assert "NOTIFICATIONS_WEBHOOK_SECRET_KEY" in parked["last_reason"]
                assert receiver.received == [], "nothing unsigned or wrongly signed went out"

                rotated = await http.post(
                    f"/webhooks/{hook}/secret",
                    json={"secret": NEW, "overlap_seconds": 3600},
                    headers=OPERATOR,
                )
                assert rotated.status_code == 200, rotated.text
                assert rotated.json()["previous_valid_until"] is None, "the old one can't sign"
                replay = await http.post(
                    f"/messages/{parked['message_id']}/replay", headers=OPERATOR
                )
                assert replay.status_code == 202, replay.text
                [sent] = await arrived(receiver, 1, "the replayed delivery")
                assert len(sent.headers[SIGNATURE_HEADER].split(" ")) == 1
                assert verify(sent.headers, sent.body, [NEW], now=int(clock().timestamp()))


async def webhook_message(http, case_id: uuid.UUID, status: str) -> dict:
    async def probe() -> dict | None:
        hooks = [m for m in await case_messages(http, case_id) if m["channel"] == "webhook"]
        return hooks[0] if hooks and hooks[0]["status"] == status else None

    return await eventually(probe, timeout=30, what=f"webhook message {status}")
