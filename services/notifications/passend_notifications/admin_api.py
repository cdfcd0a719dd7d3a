"""HTTP API for an SWV's settings: contacts, personal links, template wording, webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, HTTPException, Response, status
from pydantic import AnyHttpUrl, BaseModel, Field

from passend_backbone.auth import Principal, Role
from passend_backbone.auth.dependency import CurrentPrincipal
from passend_backbone.service import ServiceContext
from passend_backbone.tenancy import tenant_transaction
from passend_contracts import topics
from passend_contracts.registry import EVENT_TYPES
from passend_notifications import erasure
from passend_notifications.domain.templates import DEFAULTS, TemplateError, validate

_SUBSCRIPTION_NAMESPACE = UUID("c6a1f0b4-3e2d-4b8a-9c7f-1d5e2a8b4f60")
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


class LinkIn(BaseModel):
    link: AnyHttpUrl


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


def require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"only {allowed} may do this")


class _Tenant:
    """Single statements, each in a transaction as the caller's tenant (row-level security)."""

    def __init__(self, pool: asyncpg.Pool, swv: str) -> None:
        self.pool = pool
        self.swv = swv

    async def execute(self, sql: str, *args: Any) -> str:
        async with tenant_transaction(self.pool, self.swv) as conn:
            done: str = await conn.execute(sql, *args)
            return done

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with tenant_transaction(self.pool, self.swv) as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with tenant_transaction(self.pool, self.swv) as conn:
            return await conn.fetchval(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with tenant_transaction(self.pool, self.swv) as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows


def admin_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["settings"])

    def tenant(principal: Principal) -> _Tenant:
        return _Tenant(ctx.pool, principal.swv)

    @router.put("/contacts/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def put_contact(recipient_id: str, body: ContactIn, principal: CurrentPrincipal) -> None:
        """Where a recipient id (a person or a functional mailbox) is reached by e-mail."""
        require(principal, Role.OPERATOR, Role.SERVICE)
        async with tenant_transaction(ctx.pool, principal.swv) as conn:
            if await erasure.parent_of_erased(conn, principal.swv, recipient_id):
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    detail="the pupil of this parent was erased: their address is not kept",
                )
        await tenant(principal).execute(
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

    @router.delete("/contacts/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_contact(recipient_id: str, principal: CurrentPrincipal) -> None:
        """Erase a recipient's address (and personal links); their messages then wait."""
        require(principal, Role.OPERATOR, Role.SERVICE)
        async with tenant_transaction(ctx.pool, principal.swv) as conn:
            for table in ("contacts", "personal_links"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE swv = $1 AND recipient_id = $2",
                    principal.swv,
                    recipient_id,
                )

    @router.put("/cases/{case_id}/links/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def put_link(
        case_id: UUID, recipient_id: str, body: LinkIn, principal: CurrentPrincipal
    ) -> None:
        """A parent's personal consent link for one case (W10); kept off the bus."""
        require(principal, Role.SERVICE)
        await tenant(principal).execute(
            "INSERT INTO personal_links (swv, case_id, recipient_id, link, updated_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (swv, case_id, recipient_id) DO UPDATE "
            "SET link = EXCLUDED.link, updated_at = EXCLUDED.updated_at",
            principal.swv,
            case_id,
            recipient_id,
            str(body.link),
            ctx.clock(),
        )

    @router.get("/templates/{name}")
    async def get_template(name: str, principal: CurrentPrincipal) -> TemplateView:
        """The wording the SWV's messages use now, and the placeholders it may use."""
        require(principal, Role.OPERATOR)
        base = DEFAULTS.get(name)
        if base is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no template {name!r}")
        row = await tenant(principal).fetchrow(
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
    async def put_template(name: str, body: TemplateIn, principal: CurrentPrincipal) -> None:
        """The SWV's own wording; refused when it asks for data the message may not carry."""
        require(principal, Role.OPERATOR)
        if name not in DEFAULTS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no template {name!r}")
        try:
            validate(name, body.subject, body.body)
        except TemplateError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
        await tenant(principal).execute(
            "INSERT INTO template_overrides (swv, template, subject, body, updated_by, updated_at) "
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

    @router.delete("/templates/{name}", status_code=status.HTTP_204_NO_CONTENT)
    async def reset_template(name: str, principal: CurrentPrincipal) -> None:
        """Back to the default wording."""
        require(principal, Role.OPERATOR)
        await tenant(principal).execute(
            "DELETE FROM template_overrides WHERE swv = $1 AND template = $2", principal.swv, name
        )

    @router.post("/webhooks", status_code=status.HTTP_201_CREATED)
    async def subscribe(
        body: SubscriptionIn,
        principal: CurrentPrincipal,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> SubscriptionView:
        """Register an outside system's URL for some event types (operator).

        With an ``Idempotency-Key`` the subscription's id is derived from the key, so a
        retried request finds the first subscription instead of making a second one.
        """
        require(principal, Role.OPERATOR)
        unknown = sorted(set(body.event_types) - SUBSCRIBABLE)
        if unknown:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail=f"unknown event types {unknown}; see the event catalogue for the names",
            )
        if idempotency_key:
            key = f"{principal.swv}/{principal.subject}/{idempotency_key}"
            sub_id = uuid.uuid5(_SUBSCRIPTION_NAMESPACE, key)
        else:
            sub_id = uuid.uuid4()
        inserted = await tenant(principal).fetchval(
            "INSERT INTO webhook_subscriptions (id, swv, url, event_types, secret, created_by, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING "
            "RETURNING true",
            sub_id,
            principal.swv,
            str(body.url),
            sorted(set(body.event_types)),
            body.secret,
            principal.subject,
            ctx.clock(),
        )
        if not inserted:
            response.status_code = status.HTTP_200_OK
        row = await tenant(principal).fetchrow(
            "SELECT * FROM webhook_subscriptions WHERE id = $1 AND swv = $2", sub_id, principal.swv
        )
        assert row is not None
        return SubscriptionView.model_validate(dict(row))

    @router.get("/webhooks")
    async def subscriptions(principal: CurrentPrincipal) -> list[SubscriptionView]:
        require(principal, Role.OPERATOR)
        rows = await tenant(principal).fetch(
            "SELECT * FROM webhook_subscriptions WHERE swv = $1 ORDER BY created_at", principal.swv
        )
        return [SubscriptionView.model_validate(dict(r)) for r in rows]

    @router.delete("/webhooks/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def unsubscribe(subscription_id: UUID, principal: CurrentPrincipal) -> None:
        """Stop deliveries; messages still queued for it park with the reason."""
        require(principal, Role.OPERATOR)
        done = await tenant(principal).fetchval(
            "UPDATE webhook_subscriptions SET active = false WHERE id = $1 AND swv = $2 "
            "RETURNING true",
            subscription_id,
            principal.swv,
        )
        if not done:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such subscription")

    return router
