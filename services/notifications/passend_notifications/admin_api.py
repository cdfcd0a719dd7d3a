"""HTTP API for an SWV's settings: functional mailboxes, template wording, webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import AnyHttpUrl, BaseModel, Field

from passend_backbone.auth import Role
from passend_backbone.auth.dependency import CurrentPrincipal
from passend_backbone.commands import IdempotencyHeader, Refusal, StoredAnswer
from passend_backbone.service import ServiceContext
from passend_backbone.tenancy import tenant_transaction
from passend_contracts import topics
from passend_contracts.registry import EVENT_TYPES
from passend_notifications.access import require
from passend_notifications.domain.templates import DEFAULTS, TemplateError, validate
from passend_notifications.idempotent import NO_CONTENT, write_once
from passend_notifications.recipients import is_mailbox

# Webhooks carry other services' events; this service's own are not offered (a webhook
# about a webhook delivery would feed itself).
# Only case events: a webhook delivery belongs to a case's record.
SUBSCRIBABLE = frozenset(
    t
    for t, cls in EVENT_TYPES.items()
    if cls.topic != topics.NOTIFICATIONS and "case_id" in cls.model_fields
)


class ContactIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    display_name: str | None = Field(default=None, max_length=200)


class TemplateIn(BaseModel):
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)


class TemplateView(BaseModel):
    template: str
    subject: str
    body: str
    placeholders: list[str]
    overridden: bool


class SubscriptionIn(BaseModel):
    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1)
    secret: str = Field(min_length=32, description="Shared secret for the HMAC-SHA256 signature")


class SubscriptionView(BaseModel):
    id: UUID
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime


def _unknown_template(name: str) -> Refusal:
    return Refusal.not_found("templates", f"no template {name!r}")


def admin_router(ctx: ServiceContext) -> APIRouter:
    """The settings endpoints. Every one that writes takes an ``Idempotency-Key``."""
    router = APIRouter(tags=["settings"])

    @router.put("/contacts/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def put_contact(
        recipient_id: str,
        body: ContactIn,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Response:
        """Where one of the SWV's functional mailboxes is reached by e-mail.

        Only mailboxes: ``education_specialist``, ``route_coach``, ``team_no:<region>``.
        People are reached at their address in the SWV's directory, parents through
        intake, which holds each case's own parents; any other id is refused with 422,
        so no entry here can ever stand for a person or a parent.
        """
        require(principal, Role.OPERATOR, Role.SERVICE)
        if not is_mailbox(recipient_id):
            raise Refusal.invalid(
                "recipients",
                f"{recipient_id!r} is not a functional mailbox (education_specialist, "
                "route_coach, team_no:<region>): people are reached at their address in the "
                "SWV's directory, parents at the address the school gave with the request",
                field="recipient_id",
            )

        async def work(conn: Any) -> StoredAnswer:
            await conn.execute(
                "INSERT INTO contacts (swv, recipient_id, email, display_name, updated_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (swv, recipient_id) DO UPDATE SET "
                "email = EXCLUDED.email, display_name = EXCLUDED.display_name, "
                "updated_at = EXCLUDED.updated_at",
                principal.swv,
                recipient_id,
                str(body.email),
                body.display_name,
                ctx.clock(),
            )
            return NO_CONTENT

        asked = {"recipient_id": recipient_id, **body.model_dump(mode="json")}
        return await write_once(
            ctx.commands, principal, key, "PUT /contacts/{recipient_id}", asked, work
        )

    @router.delete("/contacts/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_contact(
        recipient_id: str, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> Response:
        """Erase a mailbox's address; its messages then wait."""
        require(principal, Role.OPERATOR, Role.SERVICE)

        async def work(conn: Any) -> StoredAnswer:
            await conn.execute(
                "DELETE FROM contacts WHERE swv = $1 AND recipient_id = $2",
                principal.swv,
                recipient_id,
            )
            return NO_CONTENT

        asked = {"recipient_id": recipient_id}
        return await write_once(
            ctx.commands, principal, key, "DELETE /contacts/{recipient_id}", asked, work
        )

    @router.get("/templates/{name}")
    async def get_template(name: str, principal: CurrentPrincipal) -> TemplateView:
        """The wording the SWV's messages use now, and the placeholders it may use."""
        require(principal, Role.OPERATOR)
        base = DEFAULTS.get(name)
        if base is None:
            raise _unknown_template(name)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            row = await conn.fetchrow(
                "SELECT subject, body FROM template_overrides WHERE swv = $1 AND template = $2",
                principal.swv,
                name,
            )
        return TemplateView(
            template=name,
            subject=row["subject"] if row else base.subject,
            body=row["body"] if row else base.body,
            placeholders=sorted(base.allowed),
            overridden=row is not None,
        )

    @router.put("/templates/{name}", status_code=status.HTTP_204_NO_CONTENT)
    async def put_template(
        name: str, body: TemplateIn, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> Response:
        """The SWV's own wording; refused when it asks for data the message may not carry."""
        require(principal, Role.OPERATOR)
        if name not in DEFAULTS:
            raise _unknown_template(name)
        try:
            validate(name, body.subject, body.body)
        except TemplateError as exc:
            raise Refusal.invalid("templates", str(exc)) from exc

        async def work(conn: Any) -> StoredAnswer:
            await conn.execute(
                "INSERT INTO template_overrides "
                "(swv, template, subject, body, updated_by, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (swv, template) DO UPDATE SET "
                "subject = EXCLUDED.subject, body = EXCLUDED.body, "
                "updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
                principal.swv,
                name,
                body.subject,
                body.body,
                principal.subject,
                ctx.clock(),
            )
            return NO_CONTENT

        asked = {"name": name, **body.model_dump(mode="json")}
        return await write_once(ctx.commands, principal, key, "PUT /templates/{name}", asked, work)

    @router.delete("/templates/{name}", status_code=status.HTTP_204_NO_CONTENT)
    async def reset_template(
        name: str, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> Response:
        """Back to the default wording."""
        require(principal, Role.OPERATOR)

        async def work(conn: Any) -> StoredAnswer:
            await conn.execute(
                "DELETE FROM template_overrides WHERE swv = $1 AND template = $2",
                principal.swv,
                name,
            )
            return NO_CONTENT

        return await write_once(
            ctx.commands, principal, key, "DELETE /templates/{name}", {"name": name}, work
        )

    @router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=SubscriptionView)
    async def subscribe(
        body: SubscriptionIn, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> Response:
        """Register an outside system's URL for some event types (operator).

        With an ``Idempotency-Key`` a retried request gets the first answer (the same
        subscription) instead of making a second one.
        """
        require(principal, Role.OPERATOR)
        unknown = sorted(set(body.event_types) - SUBSCRIBABLE)
        if unknown:
            raise Refusal.invalid(
                "webhooks",
                f"unknown event types {unknown}; see the event catalogue for the names",
                field="event_types",
            )

        async def work(conn: Any) -> StoredAnswer:
            row = await conn.fetchrow(
                "INSERT INTO webhook_subscriptions (id, swv, url, event_types, secret, "
                "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
                uuid.uuid4(),
                principal.swv,
                str(body.url),
                sorted(set(body.event_types)),
                body.secret,
                principal.subject,
                ctx.clock(),
            )
            view = SubscriptionView.model_validate(dict(row))
            return StoredAnswer(status.HTTP_201_CREATED, view.model_dump(mode="json"))

        return await write_once(
            ctx.commands, principal, key, "POST /webhooks", body.model_dump(mode="json"), work
        )

    @router.get("/webhooks")
    async def subscriptions(principal: CurrentPrincipal) -> list[SubscriptionView]:
        require(principal, Role.OPERATOR)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            rows = await conn.fetch(
                "SELECT * FROM webhook_subscriptions WHERE swv = $1 ORDER BY created_at",
                principal.swv,
            )
        return [SubscriptionView.model_validate(dict(r)) for r in rows]

    @router.delete("/webhooks/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def unsubscribe(
        subscription_id: UUID, principal: CurrentPrincipal, key: IdempotencyHeader = None
    ) -> Response:
        """Stop deliveries; messages still queued for it park with the reason."""
        require(principal, Role.OPERATOR)

        async def work(conn: Any) -> StoredAnswer:
            done = await conn.fetchval(
                "UPDATE webhook_subscriptions SET active = false WHERE id = $1 AND swv = $2 "
                "RETURNING true",
                subscription_id,
                principal.swv,
            )
            if not done:
                raise Refusal.not_found("webhooks", "no such subscription")
            return NO_CONTENT

        asked = {"subscription_id": str(subscription_id)}
        operation = "DELETE /webhooks/{subscription_id}"
        return await write_once(ctx.commands, principal, key, operation, asked, work)

    return router
