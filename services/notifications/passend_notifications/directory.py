"""Per-SWV lookups: recipients' contact entries, template wording and webhook subscriptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from passend_notifications.domain.planning import Subscription
from passend_notifications.domain.rules import NOTHING_KNOWN, CaseFacts, learn
from passend_notifications.domain.templates import DEFAULTS, MessageTemplate

Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Contact:
    email: str
    display_name: str | None


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str
    active: bool


async def contact(db: Executor, swv: str, recipient_id: str) -> Contact | None:
    row = await db.fetchrow(
        "SELECT email, display_name FROM contacts WHERE swv = $1 AND recipient_id = $2",
        swv,
        recipient_id,
    )
    return Contact(row["email"], row["display_name"]) if row else None


async def personal_link(db: Executor, swv: str, case_id: UUID, recipient_id: str) -> str | None:
    link: str | None = await db.fetchval(
        "SELECT link FROM personal_links WHERE swv = $1 AND case_id = $2 AND recipient_id = $3",
        swv,
        case_id,
        recipient_id,
    )
    return link


async def learn_case(db: Executor, swv: str, case_id: UUID, data: Mapping[str, Any]) -> CaseFacts:
    """Merge what ``data`` says about the case's people into ``case_people``; return the result."""
    told = learn(NOTHING_KNOWN, data)
    # The merge happens in the statement, so two replicas learning about one case at once
    # (its intake and assignment partitions may sit with different consumers) both count.
    row = await db.fetchrow(
        "INSERT INTO case_people AS f (swv, case_id, ib_id, parent_refs) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (swv, case_id) DO UPDATE SET "
        "ib_id = coalesce(f.ib_id, EXCLUDED.ib_id), "
        "parent_refs = ARRAY(SELECT DISTINCT p FROM unnest(f.parent_refs || EXCLUDED.parent_refs)"
        " AS p ORDER BY p) "
        "RETURNING ib_id, parent_refs",
        swv,
        case_id,
        told.ib_id,
        list(told.parent_refs),
    )
    return CaseFacts(row["ib_id"], tuple(row["parent_refs"]))


async def template(db: Executor, swv: str, name: str) -> MessageTemplate:
    """The SWV's wording of ``name`` if it has one, else the default."""
    base = DEFAULTS[name]
    row = await db.fetchrow(
        "SELECT subject, body FROM template_overrides WHERE swv = $1 AND template = $2", swv, name
    )
    if row is None:
        return base
    return MessageTemplate(name, row["subject"], row["body"], base.extra)


async def subscriptions(db: Executor, swv: str, event_type: str) -> list[Subscription]:
    """The SWV's active subscriptions that want ``event_type``."""
    rows = await db.fetch(
        "SELECT id, event_types FROM webhook_subscriptions "
        "WHERE swv = $1 AND active AND $2 = ANY(event_types) ORDER BY id",
        swv,
        event_type,
    )
    return [Subscription(r["id"], frozenset(r["event_types"])) for r in rows]


async def endpoint(db: Executor, swv: str, subscription_id: UUID) -> Endpoint | None:
    row = await db.fetchrow(
        "SELECT url, secret, active FROM webhook_subscriptions WHERE swv = $1 AND id = $2",
        swv,
        subscription_id,
    )
    return Endpoint(row["url"], row["secret"], row["active"]) if row else None
