"""Per-SWV lookups: functional mailboxes, the directory's people, wording and webhooks.

Addresses come from two places only, neither of them about a pupil: the SWV's functional
mailboxes (``contacts``, set by an operator: ``education_specialist``, ``route_coach``,
``team_no:<region>``) and the directory's people (``people``, from assignment's
``PersonRegistered``). A parent is never looked up here: see
:mod:`passend_notifications.parents`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
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
    """A subscription's URL and sealed secrets (:mod:`passend_notifications.secret_box`)."""

    url: str
    secret_sealed: bytes
    active: bool
    previous_sealed: bytes | None = None
    previous_valid_until: datetime | None = None

    def sealed_secrets(self, now: datetime) -> list[bytes]:
        """The secrets that sign a delivery at ``now``: the previous one too during the
        overlap of a rotation, so a receiver that has not switched yet still verifies."""
        found = [self.secret_sealed]
        until = self.previous_valid_until
        if self.previous_sealed is not None and until is not None and now < until:
            found.append(self.previous_sealed)
        return found


async def mailbox(db: Executor, swv: str, recipient_id: str) -> Contact | None:
    """The address of one of the SWV's functional mailboxes, if an operator set it."""
    row = await db.fetchrow(
        "SELECT email, display_name FROM contacts WHERE swv = $1 AND recipient_id = $2",
        swv,
        recipient_id,
    )
    return Contact(row["email"], row["display_name"]) if row else None


async def person(db: Executor, swv: str, person_id: str) -> Contact | None:
    """A person's work address from the SWV's directory; None when unknown, gone, or
    registered without one."""
    row = await db.fetchrow(
        "SELECT email, display_name FROM people WHERE swv = $1 AND person_id = $2",
        swv,
        person_id,
    )
    if row is None or not row["email"]:
        return None
    return Contact(row["email"], row["display_name"])


async def register_person(
    db: Executor,
    swv: str,
    person_id: str,
    email: str | None,
    display_name: str,
    registered_at: datetime,
) -> None:
    """The directory registered (or changed) a person: keep their newest work address."""
    await db.execute(
        "INSERT INTO people (swv, person_id, email, display_name, registered_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (swv, person_id) DO UPDATE SET "
        "email = EXCLUDED.email, display_name = EXCLUDED.display_name, "
        "registered_at = EXCLUDED.registered_at "
        "WHERE people.registered_at <= EXCLUDED.registered_at",
        swv,
        person_id,
        email,
        display_name,
        registered_at,
    )


async def forget_person(db: Executor, swv: str, person_id: str) -> None:
    """The person left the directory: their address is not kept, their messages wait."""
    await db.execute("DELETE FROM people WHERE swv = $1 AND person_id = $2", swv, person_id)


async def learn_case(db: Executor, swv: str, case_id: UUID, data: Mapping[str, Any]) -> CaseFacts:
    """Merge what ``data`` says about the case's people into ``case_people``; return the result."""
    told = learn(NOTHING_KNOWN, data)
    # The merge happens in the statement, so two replicas learning about one case at once
    # (its intake and assignment partitions may sit with different consumers) both count.
    row = await db.fetchrow(
        "INSERT INTO case_people AS f (swv, case_id, ib_id, parent_refs, teacher_id) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (swv, case_id) DO UPDATE SET "
        "ib_id = coalesce(f.ib_id, EXCLUDED.ib_id), "
        "teacher_id = coalesce(f.teacher_id, EXCLUDED.teacher_id), "
        "parent_refs = ARRAY(SELECT DISTINCT p FROM unnest(f.parent_refs || EXCLUDED.parent_refs)"
        " AS p ORDER BY p) "
        "RETURNING ib_id, parent_refs, teacher_id",
        swv,
        case_id,
        told.ib_id,
        list(told.parent_refs),
        told.teacher_id,
    )
    return CaseFacts(row["ib_id"], tuple(row["parent_refs"]), row["teacher_id"])


async def case_facts(db: Executor, swv: str, case_id: UUID) -> CaseFacts:
    """What is known now of the case's people (for a mailbox resolved at delivery)."""
    row = await db.fetchrow(
        "SELECT ib_id, parent_refs, teacher_id FROM case_people WHERE swv = $1 AND case_id = $2",
        swv,
        case_id,
    )
    if row is None:
        return NOTHING_KNOWN
    return CaseFacts(row["ib_id"], tuple(row["parent_refs"]), row["teacher_id"])


async def template(db: Executor, swv: str, name: str) -> MessageTemplate:
    """The SWV's wording of ``name`` if it has one, else the default."""
    base = DEFAULTS[name]
    row = await db.fetchrow(
        "SELECT subject, body FROM template_overrides WHERE swv = $1 AND template = $2", swv, name
    )
    if row is None:
        return base
    return MessageTemplate(name, row["subject"], row["body"], base.extra)


async def subscriptions(db: Executor, swv: str, region: str, event_type: str) -> list[Subscription]:
    """The SWV's active subscriptions of the municipality ``region`` that want ``event_type``."""
    rows = await db.fetch(
        "SELECT id, event_types FROM webhook_subscriptions "
        "WHERE swv = $1 AND region = $2 AND active AND $3 = ANY(event_types) ORDER BY id",
        swv,
        region,
        event_type,
    )
    return [Subscription(r["id"], frozenset(r["event_types"])) for r in rows]


async def endpoint(db: Executor, swv: str, subscription_id: UUID) -> Endpoint | None:
    """Where a subscription's deliveries go, and its sealed secrets."""
    row = await db.fetchrow(
        "SELECT url, secret_sealed, previous_sealed, previous_valid_until, active "
        "FROM webhook_subscriptions WHERE swv = $1 AND id = $2",
        swv,
        subscription_id,
    )
    if row is None:
        return None
    return Endpoint(
        row["url"],
        bytes(row["secret_sealed"]),
        row["active"],
        None if row["previous_sealed"] is None else bytes(row["previous_sealed"]),
        row["previous_valid_until"],
    )
