"""From one consumed event to the messages it causes: e-mails by rule, webhooks by subscription."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from passend_contracts.envelope import CloudEvent
from passend_notifications.domain.messages import event_facts, message_id
from passend_notifications.domain.rules import (
    NOTHING_KNOWN,
    RULES,
    CaseFacts,
    RecipientRole,
    Rule,
    recipients,
)

EMAIL = "email"
WEBHOOK = "webhook"


@dataclass(frozen=True)
class Subscription:
    """A municipality's webhook: the allow-listed event types it wants."""

    id: UUID
    event_types: frozenset[str]


@dataclass(frozen=True)
class PlannedMessage:
    """One message to deliver, before it is stored; ``facts`` are all it knows of the event."""

    message_id: UUID
    case_id: UUID
    channel: str
    role: str
    recipient_id: str
    template: str
    facts: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # webhooks: the CloudEvent as delivered
    rule: str | None = None  # the rule's tag (W26, ...); None for webhooks (a subscription)


def plan(
    event: CloudEvent,
    case: CaseFacts = NOTHING_KNOWN,
    rules: tuple[Rule, ...] = RULES,
) -> list[PlannedMessage]:
    """Every e-mail ``event`` causes; the same event always yields the same message ids.

    Webhooks are planned apart (:func:`plan_webhooks`): they carry the event as the
    subscriber's municipality may see it, once that municipality is known.
    """
    case_id = UUID(str(event.data["case_id"]))
    return [
        PlannedMessage(
            message_id=message_id(event.id, who.role, who.recipient_id),
            case_id=case_id,
            channel=EMAIL,
            role=who.role,
            recipient_id=who.recipient_id,
            template=who.template,
            facts=event_facts(who.template, case_id, event.time, event.data),
            rule=who.tag,
        )
        for who in recipients(event.type, event.data, case, rules)
    ]


def plan_webhooks(
    shown: CloudEvent, case_id: UUID, subscriptions: Sequence[Subscription]
) -> list[PlannedMessage]:
    """The webhook messages of one event as the subscribers may see it (already minimised).

    ``subscriptions`` are those of the case's municipality; each gets the event when it
    asked for its type. The same event always yields the same message ids.
    """
    body = shown.model_dump(mode="json")
    return [
        PlannedMessage(
            message_id=message_id(shown.id, RecipientRole.WEBHOOK, str(sub.id)),
            case_id=case_id,
            channel=WEBHOOK,
            role=RecipientRole.WEBHOOK,
            recipient_id=str(sub.id),
            template=shown.type,
            body=body,
        )
        for sub in subscriptions
        if shown.type in sub.event_types
    ]
