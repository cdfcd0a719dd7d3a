"""Handling the request commands: submit (idempotent), reformulate (W6, W7), withdraw."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from passend_backbone import tenancy
from passend_backbone.auth import Principal
from passend_backbone.eventstore import NewEvent
from passend_backbone.service import ServiceContext
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import AgreedBy
from passend_intake import idempotency, pupil_keys, queries
from passend_intake.access import SUBMITTERS, WORKERS, case_facts, command_check, require_role
from passend_intake.domain.identity import check_identity
from passend_intake.domain.request import Reformulate, SubmitRequest, reformulate, submit, withdraw
from passend_intake.domain.state import CaseState
from passend_intake.handlers import NotAllowed, accepted, act, metadata
from passend_intake.schemas import ReformulateBody, RequestCreated, SubmitRequestBody


async def submit_request(
    ctx: ServiceContext,
    principal: Principal,
    body: SubmitRequestBody,
    idempotency_key: str,
    correlation_id: str,
) -> idempotency.StoredAnswer:
    """W3: an IB submits for their own school. The same key returns the first answer."""
    require_role(principal, SUBMITTERS)
    if principal.school_id != body.school_id:
        raise NotAllowed(
            f"an IB submits requests for their own school ({principal.school_id}), "
            f"not for {body.school_id}",
            rule="W3",
        )
    now = ctx.clock()
    check_identity(body.pupil, now.date())
    print_ = idempotency.fingerprint(body.model_dump(mode="json"))
    swv, subject = principal.swv, principal.subject
    # The answer is known before anything is written (the case id is made here), so it
    # is stored with the key's claim in one statement.
    case_id = uuid.uuid4()
    created = RequestCreated(case_id=case_id, submitted_at=now, href=f"/requests/{case_id}")
    answer = idempotency.StoredAnswer(201, created.model_dump(mode="json"))
    async with tenancy.tenant_transaction(ctx.pool, swv) as conn:
        stored = await idempotency.claim(conn, swv, subject, idempotency_key, print_, answer)
        if stored is not None:
            return stored
        key = await pupil_keys.get_or_create_key(conn, swv, body.pupil_ref)
        command = SubmitRequest(
            case_id=case_id,
            school_id=body.school_id,
            ib_id=subject,
            addressed_worker_id=body.addressed_worker_id,
            pupil_ref=body.pupil_ref,
            parent_refs=tuple(p.parent_ref for p in body.pupil.parents),
            levels=tuple(body.levels),
            educational_need=body.educational_need,
            tried_in_basic_support=body.tried_in_basic_support,
            why_stuck=body.why_stuck,
            multiple_problems=body.multiple_problems,
            specialist_advised=body.specialist_advised,
            processing_basis=body.processing_basis,
            encrypted_identity=pupil_keys.encrypt(body.pupil, key, swv, body.pupil_ref),
        )
        events = submit(CaseState(), command, now)
        await ctx.store.append(
            str(case_id),
            0,
            [NewEvent.of(e) for e in events],
            metadata(principal, correlation_id),
            conn=conn,
        )
        return answer


async def reformulate_request(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    body: ReformulateBody,
    correlation_id: str,
) -> dict[str, object]:
    """W6, W7: reformulated jointly after the start conversation (so after a claim)."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    claimed_by = (await queries.progress(ctx.pool, principal.swv, case_id)).claimed_by
    command = Reformulate(
        levels=tuple(body.levels),
        educational_need=body.educational_need,
        tried_in_basic_support=body.tried_in_basic_support,
        why_stuck=body.why_stuck,
        agreed_by=tuple(AgreedBy(role=a.role, party_id=a.party_id) for a in body.agreed_by),
        reason=body.reason,
    )

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        return reformulate(state, command, claimed_by, ctx.clock(), case_id)

    recorded = await act(
        ctx,
        case_id,
        lambda _swv: metadata(principal, correlation_id),
        decide,
        tenant=principal.swv,
        check=command_check(principal, known),
    )
    return accepted(case_id, recorded)


async def withdraw_request(
    ctx: ServiceContext, principal: Principal, case_id: UUID, reason: str, correlation_id: str
) -> dict[str, object]:
    """The school (its IB) withdraws the request while no trajectory has started."""
    require_role(principal, SUBMITTERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    opened_at = (await queries.progress(ctx.pool, principal.swv, case_id)).trajectory_opened_at

    async def decide(
        conn: asyncpg.Connection, state: CaseState, swv: str
    ) -> Sequence[EventPayload]:
        return withdraw(state, principal.subject, reason, opened_at, ctx.clock(), case_id)

    recorded = await act(
        ctx,
        case_id,
        lambda _swv: metadata(principal, correlation_id),
        decide,
        tenant=principal.swv,
        check=command_check(principal, known),
    )
    return accepted(case_id, recorded)
