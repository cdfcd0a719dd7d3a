"""Handling the consent commands (W10, R), including the parent's personal link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from passend_backbone.auth import Principal
from passend_backbone.commands import IdempotencyKey, Outcome, StoredAnswer
from passend_backbone.eventstore import RecordedEvent
from passend_backbone.service import ServiceContext
from passend_contracts.events.intake import ConsentMethod, PupilView
from passend_intake import consent_links, pupil_keys
from passend_intake.access import (
    SUBMITTERS,
    WORKERS,
    case_facts,
    command_check,
    no_such_case,
    require_role,
)
from passend_intake.case_commands import accepted, run_command
from passend_intake.domain.commands import (
    ConfirmConsent,
    HearPupil,
    IntakeCommand,
    RefuseConsent,
    RequestConsent,
    WithdrawConsent,
)
from passend_intake.domain.state import CaseState
from passend_intake.retry_keys import Seal, key_of
from passend_intake.schemas import ConsentRequestAccepted, ConsentRequestBody, IssuedLink


async def request_consent(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    body: ConsentRequestBody,
    key: IdempotencyKey | None,
    seal: Seal | None,
    correlation_id: str,
) -> StoredAnswer:
    """W10: the school asks; for a personal link, one single-use link per parent.

    The links are issued with the event, in its transaction. The answer shows their
    tokens once; what is remembered for a retry holds them sealed with ``seal`` (the
    caller's key), so no table ever holds a usable token.
    """
    require_role(principal, SUBMITTERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    now = ctx.clock()
    expires_at = now + timedelta(hours=body.expires_in_hours) if body.expires_in_hours else None
    parents = tuple(dict.fromkeys(body.parent_refs))
    command = RequestConsent(
        case_id=case_id,
        requested_by=principal.subject,
        parent_refs=parents,
        method=body.method,
        link_expires_at=expires_at,
    )
    issued: list[tuple[str, str]] = []  # (parent_ref, token) of this attempt

    async def issue_links(tx: Any, outcome: Outcome[CaseState]) -> None:
        # Asking again replaces the open links: only the newest request can be answered.
        await consent_links.void_open(tx, case_id, now)
        issued.clear()
        if body.method is ConsentMethod.PERSONAL_LINK and expires_at is not None:
            for parent_ref in parents:
                token = await consent_links.issue(
                    tx, principal.swv, case_id, parent_ref, principal.subject, now, expires_at
                )
                issued.append((parent_ref, token))

    def answer(outcome: Outcome[CaseState]) -> StoredAnswer:
        links = [
            {
                "parent_ref": parent_ref,
                **({"sealed_token": seal.close(token)} if seal else {"token": token}),
                "expires_at": expires_at.isoformat() if expires_at else None,
            }
            for parent_ref, token in issued
        ]
        return StoredAnswer(201, {"case_id": str(case_id), "links": links})

    stored = await run_command(
        ctx.commands,
        case_id,
        command,
        tenant=principal.swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=command_check(principal, known),
        after=issue_links,
        answer=answer,
    )
    return links_shown(stored, seal)


def links_shown(stored: StoredAnswer, seal: Seal | None) -> StoredAnswer:
    """The answer to a consent request as the API shows it: every token opened."""
    links = []
    for link in stored.body["links"]:
        token = link["token"] if "token" in link else _opened(seal, link["sealed_token"])
        links.append(
            IssuedLink(
                parent_ref=link["parent_ref"],
                token=token,
                url=f"/consent/{token}",
                expires_at=link["expires_at"],
            )
        )
    shown = ConsentRequestAccepted(case_id=stored.body["case_id"], links=links)
    return StoredAnswer(stored.status_code, shown.model_dump(mode="json"))


def _opened(seal: Seal | None, sealed: str) -> str:
    # A sealed token was remembered for a key, and only a retry with that key finds it.
    assert seal is not None
    return seal.open(sealed)


async def record_answer(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    parent_ref: str,
    method: ConsentMethod,
    confirmed: bool,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """W10: an answer given in person (start conversation, support team meeting)."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    now = ctx.clock()

    async def prepare(tx: Any, state: CaseState) -> IntakeCommand:
        if not confirmed:
            return RefuseConsent(case_id=case_id, parent_ref=parent_ref, method=method)
        age = await pupil_keys.pupil_age(
            tx, state.encrypted_identity, principal.swv, state.pupil_ref, now.date()
        )
        return ConfirmConsent(case_id=case_id, parent_ref=parent_ref, method=method, pupil_age=age)

    async def void_links(tx: Any, outcome: Outcome[CaseState]) -> None:
        await consent_links.void_open(tx, case_id, now)

    return await run_command(
        ctx.commands,
        case_id,
        prepare=prepare,
        tenant=principal.swv,
        actor=principal.subject,
        on_behalf_of=parent_ref,
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=command_check(principal, known),
        after=void_links,
        answer=accepted(201),
    )


async def record_withdrawal(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    parent_ref: str,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """W10: a parent withdraws consent (told to the school); the work pauses."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    command = WithdrawConsent(case_id=case_id, parent_ref=parent_ref, recorded_by=principal.subject)
    return await run_command(
        ctx.commands,
        case_id,
        command,
        tenant=principal.swv,
        actor=principal.subject,
        on_behalf_of=parent_ref,
        correlation_id=correlation_id,
        now=ctx.clock(),
        key=key,
        check=command_check(principal, known),
        answer=accepted(201),
    )


async def record_hearing(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    view: PupilView,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """R: the pupil of 12 or older was heard."""
    require_role(principal, WORKERS)
    known = await case_facts(ctx.pool, principal.swv, case_id)
    command = HearPupil(case_id=case_id, heard_by=principal.subject, view=view)
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


async def answer_by_link(
    ctx: ServiceContext, token: str, confirmed: bool, header: str | None, correlation_id: str
) -> StoredAnswer:
    """W10: the parent answers through their personal link, once, before it expires.

    The link is marked used in the same transaction as the answer's event: a refused
    answer (a rule says no) leaves the link usable, a recorded one uses it up. With an
    Idempotency-Key, a retry of the recorded answer gets that answer again (the link
    being used by then is no reason to refuse it).
    """
    now = ctx.clock()
    async with ctx.pool.acquire() as conn:
        link = await consent_links.find(conn, token, now)
    if link is None:
        raise no_such_case()
    verb = "confirm" if confirmed else "refuse"
    # The link is the caller: the token is the credential, so it scopes the key.
    key = key_of(
        link.swv, consent_links.subject_of(token), header, f"POST /consent/{{token}}/{verb}"
    )

    def check(state: CaseState, records: Sequence[RecordedEvent]) -> None:
        if not records or records[0].swv != link.swv:
            raise no_such_case()

    async def prepare(tx: Any, state: CaseState) -> IntakeCommand:
        if await consent_links.use(tx, token, now) is None:
            raise no_such_case()
        method = ConsentMethod.PERSONAL_LINK
        if not confirmed:
            return RefuseConsent(case_id=link.case_id, parent_ref=link.parent_ref, method=method)
        age = await pupil_keys.pupil_age(
            tx, state.encrypted_identity, link.swv, state.pupil_ref, now.date()
        )
        return ConfirmConsent(
            case_id=link.case_id, parent_ref=link.parent_ref, method=method, pupil_age=age
        )

    async def void_links(tx: Any, outcome: Outcome[CaseState]) -> None:
        await consent_links.void_open(tx, link.case_id, now)

    return await run_command(
        ctx.commands,
        link.case_id,
        prepare=prepare,
        tenant=link.swv,
        actor=f"parent:{link.parent_ref}",
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=check,
        after=void_links,
        answer=accepted(201),
    )
