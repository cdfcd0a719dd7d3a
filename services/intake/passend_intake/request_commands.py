"""Handling the request commands: submit, reformulate (W6, W7), withdraw."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from passend_backbone.auth import Principal
from passend_backbone.commands import IdempotencyKey, Outcome, Refusal, StoredAnswer
from passend_backbone.service import ServiceContext
from passend_backbone.working_days import local_day
from passend_contracts.events.intake import AgreedBy
from passend_intake import pupil_keys, pupil_teachers, queries
from passend_intake.access import SUBMITTERS, WORKERS, case_facts, command_check, require_role
from passend_intake.case_commands import accepted, run_command
from passend_intake.domain.commands import ReformulateRequest, WithdrawRequest
from passend_intake.domain.identity import check_identity
from passend_intake.domain.request import Reformulate, SubmitRequest
from passend_intake.domain.state import CaseState
from passend_intake.schemas import ReformulateBody, RequestCreated, SubmitRequestBody


async def submit_request(
    ctx: ServiceContext,
    principal: Principal,
    body: SubmitRequestBody,
    key: IdempotencyKey,
    correlation_id: str,
) -> StoredAnswer:
    """W3: an IB submits for their own school. The same key returns the first answer.

    The pupil's key is made (or found) and the identity sealed with it inside the
    command's transaction: a refused request leaves no key behind.
    """
    require_role(principal, SUBMITTERS)
    if principal.school_id != body.school_id:
        raise Refusal.forbidden(
            "W3",
            f"an IB submits requests for their own school ({principal.school_id}), "
            f"not for {body.school_id}",
        )
    now = ctx.clock()
    check_identity(body.pupil, local_day(now))
    swv = principal.swv
    case_id = uuid.uuid4()  # a retry with the key gets the first call's case back
    areas = await queries.expertise_areas(ctx.pool, swv)

    async def prepare(tx: Any, state: CaseState) -> SubmitRequest:
        # The school's reference stays beside the key; the case carries intake's pseudonym.
        pupil = await pupil_keys.pupil_of_school(tx, swv, body.school_id, body.pupil_ref)
        await pupil_teachers.name_teacher(tx, swv, pupil.pupil_ref, body.teacher_id)
        return SubmitRequest(
            case_id=case_id,
            school_id=body.school_id,
            ib_id=principal.subject,
            addressed_worker_id=body.addressed_worker_id,
            pupil_ref=pupil.pupil_ref,
            parent_refs=tuple(p.parent_ref for p in body.pupil.parents),
            levels=tuple(body.levels),
            educational_need=body.educational_need,
            tried_in_basic_support=body.tried_in_basic_support,
            why_stuck=body.why_stuck,
            multiple_problems=body.multiple_problems,
            specialist_advised=body.specialist_advised,
            processing_basis=body.processing_basis,
            encrypted_identity=pupil_keys.encrypt(body.pupil, pupil.key, swv, pupil.pupil_ref),
            teacher_id=body.teacher_id,
            expertise_areas=areas,
        )

    def created(outcome: Outcome[CaseState]) -> StoredAnswer:
        answer = RequestCreated(case_id=case_id, submitted_at=now, href=f"/requests/{case_id}")
        return StoredAnswer(201, answer.model_dump(mode="json"))

    return await run_command(
        ctx.commands,
        case_id,
        prepare=prepare,
        tenant=swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=now,
        key=key,
        answer=created,
    )


async def reformulate_request(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    body: ReformulateBody,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """W6, W7: reformulated jointly after the start conversation (so after a claim)."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    claimed_by = (await queries.progress(ctx.pool, principal.swv, case_id)).claimed_by
    command = ReformulateRequest(
        case_id=case_id,
        reformulation=Reformulate(
            levels=tuple(body.levels),
            educational_need=body.educational_need,
            tried_in_basic_support=body.tried_in_basic_support,
            why_stuck=body.why_stuck,
            agreed_by=tuple(AgreedBy(role=a.role, party_id=a.party_id) for a in body.agreed_by),
            reason=body.reason,
        ),
        claimed_by=claimed_by,
    )
    return await run_command(
        ctx.commands,
        case_id,
        command,
        tenant=principal.swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=ctx.clock(),
        key=key,
        check=command_check(principal, known),
        answer=accepted(201),
    )


async def withdraw_request(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    reason: str,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """The school (its IB) withdraws the request while no trajectory has started."""
    require_role(principal, SUBMITTERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    opened_at = (await queries.progress(ctx.pool, principal.swv, case_id)).trajectory_opened_at
    command = WithdrawRequest(
        case_id=case_id,
        withdrawn_by=principal.subject,
        reason=reason,
        trajectory_opened_at=opened_at,
    )
    return await run_command(
        ctx.commands,
        case_id,
        command,
        tenant=principal.swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=ctx.clock(),
        key=key,
        check=command_check(principal, known),
        answer=accepted(200),
    )
