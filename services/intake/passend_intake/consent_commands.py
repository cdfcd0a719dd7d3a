"""Handling the consent commands (W10, R), including the parent's personal link."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import asyncpg

from passend_backbone.auth import Principal
from passend_backbone.eventstore import Metadata
from passend_backbone.service import ServiceContext
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentMethod, PupilView
from passend_intake import consent_links
from passend_intake.access import SUBMITTERS, WORKERS, case_facts, command_check, require_role
from passend_intake.domain import consent
from passend_intake.domain.state import CaseState
from passend_intake.handlers import CaseNotFound, accepted, act, metadata, pupil_age
from passend_intake.schemas import ConsentRequestAccepted, ConsentRequestBody, IssuedLink


async def request_consent(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    body: ConsentRequestBody,
    correlation_id: str,
) -> ConsentRequestAccepted:
    """W10: the school asks; for a personal link, one single-use link per parent."""
    require_role(principal, SUBMITTERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    now = ctx.clock()
    expires_at = now + timedelta(hours=body.expires_in_hours) if body.expires_in_hours else None
    links: list[IssuedLink] = []

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        events = consent.request_consent(
            state,
            case_id,
            principal.subject,
            tuple(dict.fromkeys(body.parent_refs)),
            body.method,
            expires_at,
            now,
        )
        # Asking again replaces the open links: only the newest request can be answered.
        await consent_links.void_open(conn, case_id, now)
        links.clear()
        if body.method is ConsentMethod.PERSONAL_LINK and expires_at is not None:
            for parent_ref in dict.fromkeys(body.parent_refs):
                token = await consent_links.issue(
                    conn, swv, case_id, parent_ref, principal.subject, now, expires_at
                )
                links.append(
                    IssuedLink(
                        parent_ref=parent_ref,
                        token=token,
                        url=f"/consent/{token}",
                        expires_at=expires_at,
                    )
                )
        return events

    await act(
        ctx,
        case_id,
        lambda _swv: metadata(principal, correlation_id),
        decide,
        tenant=principal.swv,
        check=command_check(principal, known),
    )
    return ConsentRequestAccepted(case_id=case_id, links=links)


async def record_answer(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    parent_ref: str,
    method: ConsentMethod,
    confirmed: bool,
    correlation_id: str,
) -> dict[str, object]:
    """W10: an answer given in person (start conversation, support team meeting)."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        now = ctx.clock()
        events: Sequence[EventPayload]
        if confirmed:
            age = await pupil_age(conn, state, swv, now.date())
            events = consent.confirm_consent(state, case_id, parent_ref, method, age, now)
        else:
            events = consent.refuse_consent(state, case_id, parent_ref, method, now)
        await consent_links.void_open(conn, case_id, now)
        return events

    recorded = await act(
        ctx,
        case_id,
        lambda _swv: Metadata(
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=correlation_id,
            causation_id=str(uuid.uuid4()),
            on_behalf_of=parent_ref,
        ),
        decide,
        tenant=principal.swv,
        check=command_check(principal, known),
    )
    return accepted(case_id, recorded)


async def record_withdrawal(
    ctx: ServiceContext, principal: Principal, case_id: UUID, parent_ref: str, correlation_id: str
) -> dict[str, object]:
    """W10: a parent withdraws consent (told to the school); the work pauses."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        return consent.withdraw_consent(state, case_id, parent_ref, principal.subject, ctx.clock())

    recorded = await act(
        ctx,
        case_id,
        lambda _swv: Metadata(
            swv=principal.swv,
            actor=principal.subject,
            correlation_id=correlation_id,
            causation_id=str(uuid.uuid4()),
            on_behalf_of=parent_ref,
        ),
        decide,
        tenant=principal.swv,
        check=command_check(principal, known),
    )
    return accepted(case_id, recorded)


async def record_hearing(
    ctx: ServiceContext, principal: Principal, case_id: UUID, view: PupilView, correlation_id: str
) -> dict[str, object]:
    """R: the pupil of 12 or older was heard."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        return consent.hear_pupil(state, case_id, principal.subject, view, ctx.clock())

    recorded = await act(
        ctx,
        case_id,
        lambda _swv: metadata(principal, correlation_id),
        decide,
        tenant=principal.swv,
        check=command_check(principal, known),
    )
    return accepted(case_id, recorded)


async def answer_by_link(
    ctx: ServiceContext, token: str, confirmed: bool, correlation_id: str
) -> dict[str, object]:
    """W10: the parent answers through their personal link, once, before it expires.

    The link is marked used in the same transaction as the answer's event: a refused
    answer (a rule says no) leaves the link usable, a recorded one uses it up.
    """
    async with ctx.pool.acquire() as conn:
        link = await consent_links.find(conn, token, ctx.clock())
    if link is None:
        raise CaseNotFound
    parent = link.parent_ref

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        now = ctx.clock()
        used = await consent_links.use(conn, token, now)
        if used is None:
            raise CaseNotFound
        events: Sequence[EventPayload]
        if confirmed:
            age = await pupil_age(conn, state, swv, now.date())
            events = consent.confirm_consent(
                state, link.case_id, parent, ConsentMethod.PERSONAL_LINK, age, now
            )
        else:
            events = consent.refuse_consent(
                state, link.case_id, parent, ConsentMethod.PERSONAL_LINK, now
            )
        await consent_links.void_open(conn, link.case_id, now)
        return events

    def check(state: CaseState, swv: str | None) -> None:
        if swv != link.swv:
            raise CaseNotFound

    recorded = await act(
        ctx,
        link.case_id,
        lambda swv: Metadata(
            swv=swv,
            actor=f"parent:{parent}",
            correlation_id=correlation_id,
            causation_id=str(uuid.uuid4()),
        ),
        decide,
        tenant=link.swv,
        check=check,
    )
    return accepted(link.case_id, recorded)
