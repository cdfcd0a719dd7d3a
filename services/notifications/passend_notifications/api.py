"""HTTP API: a case's messages, parked messages and their replay by an operator."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from pydantic import BaseModel, Field

from passend_backbone.audit.integrity import integrity_router
from passend_backbone.audit.readlog import record_case_read, record_list_read
from passend_backbone.audit.router import audit_router
from passend_backbone.auth import Principal, Role, sees_case
from passend_backbone.auth.dependency import CurrentPrincipal
from passend_backbone.auth.policy import CASE_ROLES, WHOLE_SWV
from passend_backbone.commands import IdempotencyHeader, IdempotencyKey, Refusal
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.eventstore import Metadata
from passend_backbone.service import ServiceContext
from passend_backbone.tenancy import tenant_transaction
from passend_notifications import journal, reach
from passend_notifications.access import require
from passend_notifications.admin_api import admin_router
from passend_notifications.channels.outcome import redact
from passend_notifications.config import NotificationSettings, load_notification_settings
from passend_notifications.domain.rules import RecipientRole
from passend_notifications.idempotent import response_of
from passend_notifications.projections import CaseMessages

# Roles that see every message of a case within their reach; anyone else sees only the
# messages addressed to themselves. The operator sees no case content at all (issue 9).
_SEE_ALL = WHOLE_SWV | {Role.COORDINATOR}
# The IB asks the parents for consent and gives them the link when an e-mail did not
# arrive: the IB also sees the messages to the parents of the school's cases.
_SEES_PARENTS = frozenset({Role.IB})
# Who is shown the messages that could not be delivered, within their reach.
_UNDELIVERABLE_READERS = frozenset(
    {Role.COORDINATOR, Role.EDUCATION_SPECIALIST, Role.AUDITOR, Role.SERVICE}
)


class MessageView(BaseModel):
    message_id: UUID
    channel: str | None
    recipient_role: str | None
    recipient_id: str | None
    template: str | None
    caused_by_event: UUID | None
    status: str
    attempts: int
    possible_duplicate: bool
    last_reason: str | None
    reason_code: str | None = None
    next_attempt_at: datetime | None
    scheduled_at: datetime | None
    sent_at: datetime | None
    status_at: datetime | None = None


class CaseNotifications(BaseModel):
    case_id: UUID
    messages: list[MessageView]


class UndeliverableMessage(BaseModel):
    """A message that did not reach its recipient and stopped trying (parked)."""

    message_id: UUID
    case_id: UUID
    recipient_role: str | None
    template: str | None
    reason_code: str | None
    attempts: int
    parked_at: datetime | None


class BounceIn(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="What the recipient's mail system reported (addresses are removed)",
    )


class ParkedMessage(BaseModel):
    message_id: UUID
    case_id: UUID
    channel: str
    recipient_role: str
    recipient_id: str
    attempts: int
    reason: str | None
    parked_at: datetime
    # Which message, and what went wrong as a code (the portal says it in Dutch).
    template: str | None = None
    reason_code: str | None = None


def _reads_case(ctx: ServiceContext) -> Callable[[Principal, UUID], Awaitable[None]]:
    """The check of reading a case's messages: a reader's role (403), the case in reach
    (404)."""

    async def check(principal: Principal, case_id: UUID) -> None:
        require(principal, *CASE_ROLES)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            facts = await reach.case_facts(conn, principal.swv, case_id)
        if facts is None or not sees_case(principal, facts):
            raise Refusal.not_found("access", "no notifications for this case")

    return check


def create_app(ctx: ServiceContext, settings: NotificationSettings | None = None) -> FastAPI:
    """The HTTP API; without ``settings`` they are read from ``NOTIFICATIONS_*``."""
    app = FastAPI(title="Passend notifications", version="1")
    app.include_router(_case_router(ctx))
    app.include_router(_operator_router(ctx))
    app.include_router(admin_router(ctx, settings or load_notification_settings()))
    app.include_router(audit_router(ctx))  # auditors replay this service's log (issue 7)
    # Every reader of the case gets its stream's hash-chain head (issue 21).
    app.include_router(integrity_router(ctx, check=_reads_case(ctx)))
    return app


def _case_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["messages"])

    @router.get(
        "/cases/{case_id}/notifications",
        dependencies=[Depends(record_case_read(ctx.pool, "notifications.case_messages"))],
    )
    async def case_notifications(case_id: UUID, principal: CurrentPrincipal) -> CaseNotifications:
        """Who was (to be) told what about the case, and how delivery went.

        403 for the operator (no case content); 404 for a case out of the caller's reach
        (issue 9), like a case of another SWV. Education specialists, auditors, services
        and the work unit's coordinators see every message of the case; the IB also the
        messages to the case's parents (whether the consent e-mail arrived); anyone else
        the messages addressed to themselves. ``reason_code`` says what went wrong
        (no_address, refused, bounced, unreachable, no_recipient, template) or why a
        message was cancelled (link_used, link_replaced, link_expired, erased).
        """
        require(principal, *CASE_ROLES)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            facts = await reach.case_facts(conn, principal.swv, case_id)
        if facts is None or not sees_case(principal, facts):
            raise Refusal.not_found("access", "no notifications for this case")
        own_only = principal.role not in _SEE_ALL
        parents_too = principal.role in _SEES_PARENTS
        async with tenant_read_model(ctx.pool, CaseMessages.name, principal.swv) as conn:
            rows = await conn.fetch(
                "SELECT * FROM messages WHERE swv = $1 AND case_id = $2 "
                "AND (NOT $3 OR recipient_id = $4 OR ($5 AND recipient_role = $6)) "
                "ORDER BY scheduled_at, message_id",
                principal.swv,
                case_id,
                own_only,
                principal.subject,
                parents_too,
                RecipientRole.PARENTS.value,
            )
        return CaseNotifications(
            case_id=case_id, messages=[MessageView.model_validate(dict(r)) for r in rows]
        )

    @router.get("/messages/undeliverable")
    async def undeliverable(
        principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 200
    ) -> list[UndeliverableMessage]:
        """Messages that did not reach their recipient and stopped trying, newest first,
        of the cases within the caller's reach (a coordinator: the work unit's cases).

        Roles: coordinator, education specialist, auditor, service. No addresses: the
        recipient's role and what went wrong (``reason_code``).
        """
        require(principal, *_UNDELIVERABLE_READERS)
        async with tenant_read_model(ctx.pool, CaseMessages.name, principal.swv) as conn:
            rows = await conn.fetch(
                "SELECT message_id, case_id, recipient_role, template, reason_code, attempts, "
                "status_at AS parked_at FROM messages WHERE swv = $1 AND status = "
                "'parked' ORDER BY status_at DESC, message_id",
                principal.swv,
            )
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            found = []
            for row in rows:
                facts = await reach.case_facts(conn, principal.swv, row["case_id"])
                if facts is not None and sees_case(principal, facts):
                    found.append(UndeliverableMessage.model_validate(dict(row)))
                if len(found) >= limit:
                    break
        await record_list_read(
            ctx.pool, principal, (m.case_id for m in found), view="notifications.undeliverable"
        )
        return found

    return router


def _operator_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/messages/parked")
    async def parked(
        principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 100
    ) -> list[ParkedMessage]:
        """Messages that stopped after their last attempt, with the reason (operator)."""
        require(principal, Role.OPERATOR)
        async with tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            rows = await conn.fetch(
                "SELECT message_id, case_id, channel, recipient_role, recipient_id, attempts, "
                "last_error AS reason, updated_at AS parked_at, template, reason_code "
                "FROM deliveries "
                "WHERE swv = $1 AND status = 'parked' ORDER BY updated_at LIMIT $2",
                principal.swv,
                limit,
            )
        return [ParkedMessage.model_validate(dict(r)) for r in rows]

    @router.post(
        "/messages/{message_id}/replay",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=dict[str, str],
    )
    async def replay(
        message_id: UUID,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Response:
        """Send a parked message again, with a fresh round of attempts (operator).

        409 when the message is not parked (still on its way, or sent), 404 when unknown.
        Replaying twice without a key is harmless: the second finds the message no longer
        parked. With the same ``Idempotency-Key`` the retry gets the first answer.
        """
        require(principal, Role.OPERATOR)
        answer = await journal.replay(
            ctx.commands,
            principal.swv,
            message_id,
            Metadata(
                swv=principal.swv,
                actor=principal.subject,
                correlation_id=request.state.correlation_id,
                causation_id=str(uuid.uuid4()),
            ),
            ctx.clock(),
            IdempotencyKey.of(
                principal.swv,
                principal.subject,
                key,
                "POST /messages/{message_id}/replay",
                {"message_id": str(message_id)},
            ),
        )
        return response_of(answer)

    @router.post(
        "/messages/{message_id}/bounces",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=dict[str, str],
    )
    async def bounced(
        message_id: UUID,
        body: BounceIn,
        request: Request,
        principal: CurrentPrincipal,
        key: IdempotencyHeader = None,
    ) -> Response:
        """A sent e-mail bounced (the recipient's mail system said so afterwards): record it
        as not delivered and park it, so the IB and the coordinator see it (operator, or
        the service that reads the bounce mailbox).

        The message is found by the ``Message-ID`` of the bounce (``<message id>@domain``).
        404 unknown; 409 not sent (yet). With the same ``Idempotency-Key`` a retry gets
        the first answer.
        """
        require(principal, Role.OPERATOR, Role.SERVICE)
        reason = redact(body.reason)
        answer = await journal.bounce(
            ctx.commands,
            principal.swv,
            message_id,
            reason,
            Metadata(
                swv=principal.swv,
                actor=principal.subject,
                correlation_id=request.state.correlation_id,
                causation_id=str(uuid.uuid4()),
            ),
            ctx.clock(),
            IdempotencyKey.of(
                principal.swv,
                principal.subject,
                key,
                "POST /messages/{message_id}/bounces",
                {"message_id": str(message_id), "reason": reason},
            ),
        )
        return response_of(answer)

    return router
