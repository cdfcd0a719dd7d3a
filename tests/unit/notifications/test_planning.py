"""An event plans the same messages every time it arrives; webhooks only for subscribed types."""

from __future__ import annotations

import uuid
from unittest.mock import ANY

from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.trajectory import TrajectoryClosed
from passend_contracts.integration import minimise
from passend_notifications.domain.planning import (
    EMAIL,
    WEBHOOK,
    Subscription,
    plan,
    plan_webhooks,
)

from .factories import NOW, bus_event

CASE = uuid.uuid4()


def claimed():
    return CaseClaimed(case_id=CASE, school_id="s-1", ib_id="ib-7", worker_id="w-1", claimed_at=NOW)


def closed():
    return TrajectoryClosed(case_id=CASE, closed_by="w-1", closed_at=NOW)


def test_redelivered_event_plans_the_same_message_ids() -> None:
    event = bus_event(claimed())
    again = bus_event(claimed(), event_id=event.id)
    assert [m.message_id for m in plan(event)] == [m.message_id for m in plan(again)]


def test_claim_plans_one_email_to_the_ib_with_minimal_facts() -> None:
    [message] = plan(bus_event(claimed()))
    assert message.channel == EMAIL
    assert (message.role, message.recipient_id, message.template) == ("ib", "ib-7", "zaak_geclaimd")
    assert message.case_id == CASE
    assert set(message.facts) == {"zaak", "datum"}
    assert message.body is None
    assert message.rule == "W26"


def test_webhooks_go_to_subscribers_of_the_type_only() -> None:
    event = bus_event(closed())
    shown = minimise(event, closed())
    assert shown is not None
    wants = Subscription(uuid.uuid4(), frozenset({event.type}))
    other = Subscription(uuid.uuid4(), frozenset({"nl.passend.trajectory.YouthCareNoted.v1"}))
    hooks = plan_webhooks(shown, CASE, [wants, other])
    assert [m.recipient_id for m in hooks] == [str(wants.id)]
    assert all(m.channel == WEBHOOK for m in hooks)
    assert hooks[0].body is not None
    assert hooks[0].body["id"] == str(event.id)
    assert hooks[0].body["data"] == {"case_id": str(CASE), "closed_by": "w-1", "closed_at": ANY}
    again = plan_webhooks(shown, CASE, [wants])
    assert [m.message_id for m in again] == [m.message_id for m in hooks]


def test_an_event_plans_no_webhook_by_itself() -> None:
    assert all(m.channel == EMAIL for m in plan(bus_event(claimed())))
