"""The privacy officer's desk in intake: what an erasure would do, and carrying it out.

The rules are pure (:mod:`passend_intake.domain.erasure`); here they meet the store: an
erasure request is a stream of its own (``erasure-request:<id>``), run through the
backbone's ``execute``, and the erasure itself (:func:`passend_intake.erasure.erase_pupil`)
happens in the same transaction as the decision that allows it, so a crash leaves either
both or neither.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.audit.entries import event_entry
from passend_backbone.auth import Principal, Role
from passend_backbone.commands import (
    IdempotencyKey,
    Outcome,
    Refusal,
    StoredAnswer,
    execute,
)
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.eventstore import Metadata
from passend_backbone.eventstore.store import COLUMNS, event_from_row
from passend_backbone.service import ServiceContext
from passend_contracts import privacy as privacy_items
from passend_contracts.events.intake import (
    EncryptedIdentity,
    ErasureRequested,
    ParentContactCorrected,
    RequestSubmitted,
)
from passend_intake import pupil_keys
from passend_intake.domain.erasure import (
    REQUEST,
    ConfirmErasure,
    ErasureCommand,
    RejectErasure,
    RequestErasure,
    RequestState,
    decision_of,
    needs_second_officer,
)
from passend_intake.erasure import erase_pupil
from passend_intake.projections import RequestsProjection

SECOND_OFFICER_SETTING = "INTAKE_ERASURE_SECOND_OFFICER"
OFFICERS = frozenset({Role.PRIVACY_OFFICER})

# What an erasure makes unreadable or removes, and what stays and why: the officer sees
# both before deciding (passend_contracts.privacy holds the list, with the Dutch texts).
ERASED = tuple(item.code for item in privacy_items.ERASED)
KEPT = tuple({"item": item.code, "legal_basis": item.legal_basis} for item in privacy_items.KEPT)

_CASES = """
SELECT r.case_id, r.school_id, r.submitted_at, r.withdrawn_at, p.claimed_by, p.closed_at,
       p.escalated_region
FROM requests r LEFT JOIN case_progress p USING (case_id)
WHERE r.swv = $1 AND r.pupil_ref = $2
ORDER BY r.submitted_at
"""
_REQUESTS = """
SELECT stream_id FROM public.events
WHERE event_type = $1 AND swv = $2 AND data->>'pupil_ref' = $3
ORDER BY position
"""


def second_officer_swvs() -> tuple[str, ...]:
    """The SWVs that require a second officer's confirmation (``*``: every SWV)."""
    return tuple(os.environ.get(SECOND_OFFICER_SETTING, "").split(","))


def require_officer(principal: Principal) -> None:
    """403 unless the caller is a privacy officer (functionaris gegevensbescherming)."""
    if principal.role not in OFFICERS:
        raise Refusal.forbidden("roles", "only a privacy officer may erase or export a pupil")


def stream_of(request_id: UUID) -> str:
    return f"erasure-request:{request_id}"


@dataclass(frozen=True)
class CaseOfPupil:
    case_id: UUID
    school_id: str
    submitted_at: datetime
    status: str  # submitted | in_trajectory | escalated | withdrawn | closed
    on_erasure: str  # withdrawn | stays_withdrawn | stays_closed

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": str(self.case_id),
            "school_id": self.school_id,
            "submitted_at": self.submitted_at.isoformat(),
            "status": self.status,
            "on_erasure": self.on_erasure,
        }


def _case(row: asyncpg.Record) -> CaseOfPupil:
    if row["withdrawn_at"] is not None:
        return CaseOfPupil(
            row["case_id"], row["school_id"], row["submitted_at"], "withdrawn", "stays_withdrawn"
        )
    if row["closed_at"] is not None:
        return CaseOfPupil(
            row["case_id"], row["school_id"], row["submitted_at"], "closed", "stays_closed"
        )
    status = (
        "escalated"
        if row["escalated_region"]
        else "in_trajectory"
        if row["claimed_by"]
        else "submitted"
    )
    return CaseOfPupil(row["case_id"], row["school_id"], row["submitted_at"], status, "withdrawn")


async def _requests_of(
    ctx: ServiceContext, swv: str, pupil_ref: str
) -> list[tuple[UUID, RequestState]]:
    async with ctx.commands.transactions.tenant(swv) as tx:
        rows = await tx.fetch(_REQUESTS, ErasureRequested.event_type, swv, pupil_ref)
        found = []
        for row in rows:
            records = await ctx.store.read_stream(row["stream_id"], conn=tx)
            state = REQUEST.fold_stored(records)
            if state.requested is not None:
                found.append((state.requested.request_id, state))
    return found


def request_json(state: RequestState) -> dict[str, Any]:
    """A request as the API shows it."""
    requested = state.requested
    assert requested is not None
    status = (
        "rejected"
        if state.rejected
        else "awaiting_confirmation"
        if state.pending
        else "carried_out"
    )
    return {
        "request_id": str(requested.request_id),
        "pupil_ref": requested.pupil_ref,
        "requested_by": requested.requested_by,
        "received_on": requested.received_on.isoformat(),
        "grounds": requested.grounds,
        "decided_by": requested.decided_by,
        "decided_at": requested.decided_at.isoformat(),
        "needs_confirmation": requested.needs_confirmation,
        "confirmed_by": state.confirmed.confirmed_by if state.confirmed else None,
        "rejected_by": state.rejected.rejected_by if state.rejected else None,
        "rejection_reason": state.rejected.reason if state.rejected else None,
        "status": status,
    }


async def pupils_named(ctx: ServiceContext, principal: Principal, ref: str) -> list[dict[str, str]]:
    """The pupils (not erased) ``ref`` names: by pseudonym one, by a school's reference
    one per school that has it. Only pseudonyms, schools and references: no case."""
    require_officer(principal)
    async with ctx.commands.transactions.tenant(principal.swv) as tx:
        named = await pupil_keys.pupils_named(tx, principal.swv, ref)
    return [
        {"pupil_ref": p.pupil_ref, "school_id": p.school_id, "school_pupil_ref": p.school_ref}
        for p in named
    ]


async def preview(ctx: ServiceContext, principal: Principal, ref: str) -> dict[str, Any]:
    """What erasing the pupil ``ref`` names would do: the cases and what happens to each,
    what is erased, what is kept and why, and the requests so far. 404 for an unknown pupil.

    ``ref`` is the school's own reference of the pupil or intake's pseudonym; the answer
    names the pupil by the pseudonym (``pupil_ref``) and, while not erased, by the school's
    reference (``school_pupil_ref``). Once erased, the school's reference names nobody.
    A school reference pupils of several schools have is refused (409): name the pupil by
    pseudonym (:func:`pupils_named` lists them)."""
    swv = principal.swv
    async with ctx.commands.transactions.tenant(swv) as tx:
        try:
            pupil_ref = await pupil_keys.pseudonym_of(tx, swv, ref)
        except pupil_keys.AmbiguousReference as exc:
            raise Refusal.conflict("pupil_reference_ambiguous", str(exc)) from exc
        school_ref = await pupil_keys.school_ref_of(tx, swv, pupil_ref)
        erasure = await tx.fetchrow(
            "SELECT erased_at, erased_by, reason FROM public.pupil_erasures "
            "WHERE swv = $1 AND pupil_ref = $2 ORDER BY erased_at DESC LIMIT 1",
            swv,
            pupil_ref,
        )
    async with tenant_read_model(ctx.pool, RequestsProjection.name, swv) as conn:
        cases = [_case(r) for r in await conn.fetch(_CASES, swv, pupil_ref)]
    requests = await _requests_of(ctx, swv, pupil_ref)
    if not cases and school_ref is None and erasure is None:
        raise Refusal.not_found("erasure", "no pupil with this reference in this SWV")
    return {
        "pupil_ref": pupil_ref,
        "school_pupil_ref": school_ref,
        "erased": school_ref is None and erasure is not None,
        "erased_at": erasure["erased_at"].isoformat() if erasure else None,
        "cases": [c.as_json() for c in cases],
        "will_erase": list(ERASED),
        "kept": list(KEPT),
        "needs_second_officer": needs_second_officer(swv, second_officer_swvs()),
        "requests": [request_json(state) for _, state in requests],
    }


async def pending(ctx: ServiceContext, principal: Principal) -> list[dict[str, Any]]:
    """Every erasure request of the SWV waiting for a second officer."""
    swv = principal.swv
    async with ctx.commands.transactions.tenant(swv) as tx:
        rows = await tx.fetch(
            "SELECT DISTINCT data->>'pupil_ref' AS pupil_ref FROM public.events "
            "WHERE event_type = $1 AND swv = $2",
            ErasureRequested.event_type,
            swv,
        )
    found: list[dict[str, Any]] = []
    for row in rows:
        for _, state in await _requests_of(ctx, swv, row["pupil_ref"]):
            if state.pending:
                found.append(request_json(state))
    return sorted(found, key=lambda r: r["decided_at"])


async def _run(
    ctx: ServiceContext,
    principal: Principal,
    request_id: UUID,
    command: ErasureCommand,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    now = ctx.clock()
    swv = principal.swv

    async def carry_out(tx: Any, outcome: Outcome[RequestState]) -> None:
        state = outcome.state
        if state.requested is None or state.pending or state.rejected is not None:
            return
        if not outcome.recorded:
            return  # nothing new decided (the same request again)
        decision = decision_of(state)
        await erase_pupil(
            ctx.pool,
            swv,
            state.requested.pupil_ref,
            erased_by=decision.decided_by,
            now=now,
            reason="request",
            store=ctx.store,
            decision=decision,
            conn=tx,
        )

    def answer(outcome: Outcome[RequestState]) -> StoredAnswer:
        body = request_json(outcome.state)
        return StoredAnswer(200, body)

    return await execute(
        ctx.commands,
        REQUEST,
        stream_of(request_id),
        command,
        tenant=swv,
        meta=Metadata(
            swv=swv,
            actor=principal.subject,
            correlation_id=correlation_id,
            causation_id=f"erasure:{request_id}",
        ),
        now=now,
        key=key,
        after=carry_out,
        answer=answer,
    )


async def request_erasure(
    ctx: ServiceContext,
    principal: Principal,
    ref: str,
    *,
    requested_by: str,
    received_on: date,
    grounds: str,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """The officer grants a request: erased at once, or (where the SWV wants a second
    officer) recorded as awaiting confirmation. 404 unknown pupil, 409 already erased."""
    require_officer(principal)
    known = await preview(ctx, principal, ref)
    if known["erased"]:
        raise Refusal.conflict("erasure", "this pupil was erased already")
    if any(r["status"] == "awaiting_confirmation" for r in known["requests"]):
        raise Refusal.conflict(
            "erasure", "an erasure request for this pupil awaits a second officer already"
        )
    request_id = uuid.uuid5(uuid.NAMESPACE_URL, f"erasure:{key}") if key else uuid.uuid4()
    command = RequestErasure(
        request_id=request_id,
        pupil_ref=known["pupil_ref"],
        requested_by=requested_by,
        received_on=received_on,
        grounds=grounds,
        officer=principal.subject,
        needs_confirmation=known["needs_second_officer"],
    )
    return await _run(ctx, principal, request_id, command, key, correlation_id)


async def confirm_erasure(
    ctx: ServiceContext,
    principal: Principal,
    request_id: UUID,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """A second officer confirms: the pupil is erased in the same transaction."""
    require_officer(principal)
    command = ConfirmErasure(officer=principal.subject)
    return await _run(ctx, principal, request_id, command, key, correlation_id)


async def reject_erasure(
    ctx: ServiceContext,
    principal: Principal,
    request_id: UUID,
    reason: str,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """A second officer does not confirm: nothing is erased, the reason is recorded."""
    require_officer(principal)
    command = RejectErasure(officer=principal.subject, reason=reason)
    return await _run(ctx, principal, request_id, command, key, correlation_id)


_PUPIL_EVENTS = f"""
SELECT {COLUMNS} FROM public.events
WHERE swv = $1 AND data->>'pupil_ref' = $2 AND event_type <> $3
ORDER BY position
"""
# The latest sealed identity: of the pupil's requests, or a parent's contact corrected in
# one of its cases since (W10).
_LATEST_IDENTITY = """
SELECT data->>'encrypted_identity' AS sealed FROM public.events
WHERE swv = $1 AND (
    (event_type = $2 AND data->>'pupil_ref' = $3)
    OR (event_type = $4 AND stream_id IN (
        SELECT stream_id FROM public.events
        WHERE swv = $1 AND event_type = $2 AND data->>'pupil_ref' = $3))
)
ORDER BY position DESC LIMIT 1
"""

# What the access export says of each document (W22): never its content, its file name or
# its description (they are the document's own words, opened only by its download).
_DOCUMENTS = """
SELECT document_id::text, case_id::text, kind, stage, step, media_type, size, sha256,
       attached_by, attached_by_role, attached_at, removed_by, removed_at, removal_reason
FROM public.documents
WHERE swv = $1 AND pupil_ref = $2
ORDER BY attached_at, document_id
"""


def document_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One document as the access export lists it: what, when in the case, how large, its
    hash, when and by whom attached (and removed); never what it says."""
    return {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in dict(row).items()
    }


async def export_part(ctx: ServiceContext, principal: Principal, ref: str) -> dict[str, Any]:
    """Intake's part of an access export (GDPR art. 15): the pupil's identity and parents
    (while not erased), the cases, and the events about the pupil outside any case
    (erasure requests, the erasure), and every document of its cases (W22: kind, stage,
    size, hash, when and by whom; never the content). Each case's own events come from
    every service's ``/audit/cases/{case_id}/events``."""
    require_officer(principal)
    found = await preview(ctx, principal, ref)
    pupil_ref = found["pupil_ref"]
    swv = principal.swv
    async with ctx.commands.transactions.tenant(swv) as tx:
        raw = await tx.fetchval(
            _LATEST_IDENTITY,
            swv,
            RequestSubmitted.event_type,
            pupil_ref,
            ParentContactCorrected.event_type,
        )
        sealed = EncryptedIdentity.model_validate_json(raw) if raw else None
        identity = await pupil_keys.open_identity(tx, sealed, swv, pupil_ref)
        rows = await tx.fetch(_PUPIL_EVENTS, swv, pupil_ref, RequestSubmitted.event_type)
        documents = await tx.fetch(_DOCUMENTS, swv, pupil_ref)
    return {
        "pupil_ref": pupil_ref,
        "school_pupil_ref": found["school_pupil_ref"],
        "erased": found["erased"],
        "identity": identity.model_dump(mode="json") if identity else None,
        "cases": found["cases"],
        "pupil_events": [event_entry(ctx.name, event_from_row(r)) for r in rows],
        "documents": [document_entry(d) for d in documents],
    }
