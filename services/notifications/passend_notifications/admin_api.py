"""HTTP API for an SWV's settings: functional mailboxes, template wording, webhooks."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import AnyHttpUrl, BaseModel, Field

from passend_backbone.auth import Role
from passend_backbone.auth.dependency import CurrentPrincipal
from passend_backbone.commands import IdempotencyHeader, Refusal, StoredAnswer
from passend_backbone.http_errors import COMMAND_ERRORS
from passend_backbone.service import ServiceContext
from passend_backbone.tenancy import tenant_transaction
from passend_contracts import topics
from passend_contracts.integration import MUNICIPALITY_FIELDS
from passend_contracts.municipalities import MunicipalityCode
from passend_notifications.access import require
from passend_notifications.config import NotificationSettings
from passend_notifications.domain.templates import DEFAULTS, TemplateError, validate
from passend_notifications.idempotent import NO_CONTENT, write_once
from passend_notifications.recipients import is_mailbox
from passend_notifications.secret_box import SecretBox, SecretNotOpened, context_of

# R: webhooks are an integration channel, not a side door: a subscriber is a
# municipality's system and gets what its integration topic carries - the allow-listed
# event types and fields of the cases of its own municipality, nothing else.
SUBSCRIBABLE = frozenset(MUNICIPALITY_FIELDS)
MAX_OVERLAP_SECONDS = 30 * 24 * 3600


class ContactIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    display_name: str | None = Field(default=None, max_length=200)


class ContactView(BaseModel):
    recipient_id: str
    email: str
    display_name: str | None
    updated_at: datetime


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
    # A CBS code of a municipality that exists today (422 naming the list otherwise).
    municipality: MunicipalityCode = Field(
        description="The municipality whose cases it receives (CBS code, e.g. GM0606): the "
        "same cases as its topic passend.integration.<municipality>",
    )
    event_types: list[str] = Field(
        min_length=1, description="Event types of the integration allow-list it wants"
    )
    secret: str = Field(
        min_length=32, max_length=500, description="Shared secret for the HMAC-SHA256 signature"
    )


class SecretRotationIn(BaseModel):
    secret: str = Field(min_length=32, max_length=500, description="The new shared secret")
    overlap_seconds: int = Field(
        default=86_400,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="How long the previous secret signs too, so the receiver can switch",
    )


class SubscriptionView(BaseModel):
    id: UUID
    url: str
    municipality: str
    event_types: list[str]
    active: bool
    created_at: datetime
    secret_rotated_at: datetime | None = None
    previous_valid_until: datetime | None = Field(
        default=None, description="Until when the previous secret signs too (a rotation)"
    )


def _box(settings: NotificationSettings) -> SecretBox:
    box = settings.secret_box
    if box is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "webhook secrets can't be stored: NOTIFICATIONS_WEBHOOK_SECRET_KEY is not set",
        )
    return box


def _unknown_template(name: str) -> Refusal:
    return Refusal.not_found("templates", f"no template {name!r}")


def _template_view(name: str, row: Any) -> TemplateView:
    """The wording of ``name``: the SWV's own (``row``) or the default."""
    base = DEFAULTS[name]
    return TemplateView(
        template=name,
        subject=row["subject"] if row else base.subject,
        body=row["body"] if row else base.body,
        placeholders=sorted(base.allowed),
        overridden=row is not None,
    )


def admin_router(ctx: ServiceContext, settings: NotificationSettings) -> APIRouter:
    """The settings endpoints. Every one that writes takes an ``Idempotency-Key``."""
    router = APIRouter(tags=["settings"])

    @router.get("/contacts")
    async def contacts(principal: CurrentPrincipal) -> list[ContactView]:
        """The SWV's functional mailboxes and their addresses, for the operator's screen.

        Only mailboxes are listed (the only entries ``PUT /contacts`` accepts)."""
        require(principal, Role.OPERATOR)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            rows = await conn.fetch(
                "SELECT recipient_id, email, display_name, updated_at FROM contacts "
                "WHERE swv = $1 ORDER BY recipient_id",
                principal.swv,
            )
        return [ContactView.model_validate(dict(r)) for r in rows if is_mailbox(r["recipient_id"])]

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

    @router.get("/templates")
    async def list_templates(principal: CurrentPrincipal) -> list[TemplateView]:
        """Every message's wording as the SWV's messages use it now (default or own)."""
        require(principal, Role.OPERATOR)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            rows = await conn.fetch(
                "SELECT template, subject, body FROM template_overrides WHERE swv = $1",
                principal.swv,
            )
        own = {r["template"]: r for r in rows}
        return [_template_view(name, own.get(name)) for name in sorted(DEFAULTS)]

    @router.get("/templates/{name}")
    async def get_template(name: str, principal: CurrentPrincipal) -> TemplateView:
        """The wording the SWV's messages use now, and the placeholders it may use."""
        require(principal, Role.OPERATOR)
        if name not in DEFAULTS:
            raise _unknown_template(name)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            row = await conn.fetchrow(
                "SELECT subject, body FROM template_overrides WHERE swv = $1 AND template = $2",
                principal.swv,
                name,
            )
        return _template_view(name, row)

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
        """Register a municipality's URL for some of its integration events (operator).

        R: the same channel as its integration topic: only the cases of ``municipality``,
        only the event types and fields of the allow-list
        (``passend_contracts.integration.MUNICIPALITY_FIELDS``); other types are refused
        (422). The secret is stored sealed and never shown again. With an
        ``Idempotency-Key`` a retried request gets the first answer (the same
        subscription) instead of making a second one.
        """
        require(principal, Role.OPERATOR)
        unknown = sorted(set(body.event_types) - SUBSCRIBABLE)
        if unknown:
            raise Refusal.invalid(
                "webhooks",
                f"event types {unknown} are not on the integration allow-list; a webhook "
                f"carries only {sorted(SUBSCRIBABLE)}",
                field="event_types",
            )
        try:
            region = topics.region_key(body.municipality)
        except ValueError as exc:
            raise Refusal.invalid("webhooks", str(exc), field="municipality") from exc
        box = _box(settings)

        async def work(conn: Any) -> StoredAnswer:
            subscription_id = uuid.uuid4()
            row = await conn.fetchrow(
                "INSERT INTO webhook_subscriptions (id, swv, url, municipality, region, "
                "event_types, secret_sealed, created_by, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                subscription_id,
                principal.swv,
                str(body.url),
                body.municipality,
                region,
                sorted(set(body.event_types)),
                box.seal(body.secret, context_of(principal.swv, subscription_id)),
                principal.subject,
                ctx.clock(),
            )
            view = SubscriptionView.model_validate(dict(row))
            return StoredAnswer(status.HTTP_201_CREATED, view.model_dump(mode="json"))

        return await write_once(
            ctx.commands, principal, key, "POST /webhooks", body.model_dump(mode="json"), work
        )

    @router.post(
        "/webhooks/{subscription_id}/secret",
        response_model=SubscriptionView,
        responses=COMMAND_ERRORS,
    )
    async def rotate_secret(
        subscription_id: UUID,
        body: SecretRotationIn,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Response:
        """Rotate the secret: the new one signs from now on, the previous one too for
        ``overlap_seconds`` (two signatures per delivery), then only the new one.

        A rotation during another's overlap ends that overlap: at most two secrets sign.
        A secret sealed under another key-encryption key can't sign any more, so the new
        one takes over at once (this is how deliveries parked for that reason resume).
        404 for an unknown subscription, 409 for a removed one, 422 for the same secret.
        """
        require(principal, Role.OPERATOR)
        context = context_of(principal.swv, subscription_id)

        async def work(conn: Any) -> StoredAnswer:
            row = await conn.fetchrow(
                "SELECT secret_sealed, active FROM webhook_subscriptions "
                "WHERE id = $1 AND swv = $2 FOR UPDATE",
                subscription_id,
                principal.swv,
            )
            if row is None:
                raise Refusal.not_found("webhooks", "no such subscription")
            if not row["active"]:
                raise Refusal.conflict("webhooks", "the subscription was removed")
            box = _box(settings)
            current = bytes(row["secret_sealed"])
            try:
                opened: str | None = box.open(current, context)
            except SecretNotOpened:
                # Sealed under another key: it can't sign any more, so there is no overlap.
                opened = None
            if opened is not None and hmac.compare_digest(opened, body.secret):
                raise Refusal.invalid(
                    "webhooks", "the new secret is the current one", field="secret"
                )
            now = ctx.clock()
            overlap = body.overlap_seconds > 0 and opened is not None
            updated = await conn.fetchrow(
                "UPDATE webhook_subscriptions SET secret_sealed = $3, previous_sealed = $4, "
                "previous_valid_until = $5, secret_rotated_at = $6 "
                "WHERE id = $1 AND swv = $2 RETURNING *",
                subscription_id,
                principal.swv,
                box.seal(body.secret, context),
                current if overlap else None,
                now + timedelta(seconds=body.overlap_seconds) if overlap else None,
                now,
            )
            view = SubscriptionView.model_validate(dict(updated))
            return StoredAnswer(status.HTTP_200_OK, view.model_dump(mode="json"))

        asked = {"subscription_id": str(subscription_id), **body.model_dump(mode="json")}
        operation = "POST /webhooks/{subscription_id}/secret"
        return await write_once(ctx.commands, principal, key, operation, asked, work)

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
