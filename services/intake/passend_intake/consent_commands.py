"""Handling the consent commands (W10, R), including the parent's personal link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from passend_backbone.auth import Principal
from passend_backbone.commands import IdempotencyKey, Outcome, Refusal, StoredAnswer
from passend_backbone.eventstore import RecordedEvent
from passend_backbone.service import ServiceContext
from passend_backbone.working_days import local_day
from passend_contracts.events.intake import ConsentConfirmed, ConsentMethod, PupilView
from passend_intake import consent_links, link_tokens, pupil_keys
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
from passend_intake.domain.consent import WITHDRAWAL_LINK_VALIDITY
from passend_intake.domain.decider import CASE
from passend_intake.domain.state import CaseState
from passend_intake.link_tokens import Purpose
from passend_intake.retry_keys import key_of
from passend_intake.schemas import ConsentRequestAccepted, ConsentRequestBody, IssuedLink


async def _pupil_key(tx: Any, state: CaseState) -> pupil_keys.PupilKey | None:
    """The key the case's identity is sealed with; None once the pupil was erased."""
    sealed = state.encrypted_identity
    return await pupil_keys.key_by_id(tx, sealed.key_id) if sealed else None


async def issue_links(
    tx: Any,
    state: CaseState,
    swv: str,
    case_id: UUID,
    parents: Sequence[str],
    purpose: Purpose,
    cause: UUID,
    issued_by: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """One link per parent, made by event ``cause``, stored by the hash of its token; False
    (and no link) once the pupil was erased: a link can't be derived any more."""
    key = await _pupil_key(tx, state)
    if key is None:
        return False
    for parent_ref in parents:
        token = link_tokens.derive(key, purpose, swv, case_id, parent_ref, cause)
        link = consent_links.ConsentLink(
            swv, case_id, parent_ref, expires_at, consent_links.LinkState.OPEN, purpose, cause
        )
        await consent_links.issue(tx, token, link, issued_by, now)
    return True


async def request_consent(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    body: ConsentRequestBody,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """W10: the school asks; for a personal link, one single-use link per parent.

    The links are issued with the event, in its transaction, each made by that event: the
    notifications service mails them, intake derives them again for the e-mail and for this
    answer (:mod:`passend_intake.link_tokens`). What is remembered for a retry with the
    key names the links, never their tokens; the retry shows the same tokens again.
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

    async def links_of_request(tx: Any, outcome: Outcome[CaseState]) -> None:
        # Asking again replaces the open links: only the newest request can be answered.
        await consent_links.void_open(tx, case_id, now)
        if body.method is ConsentMethod.PERSONAL_LINK and expires_at is not None:
            cause = outcome.recorded[-1].event_id
            issued = await issue_links(
                tx,
                outcome.state,
                principal.swv,
                case_id,
                parents,
                Purpose.CONSENT,
                cause,
                principal.subject,
                now,
                expires_at,
            )
            if not issued:
                raise Refusal.conflict(
                    "erasure", "the pupil was erased: there is nobody to send a link to"
                )

    def answer(outcome: Outcome[CaseState]) -> StoredAnswer:
        personal = body.method is ConsentMethod.PERSONAL_LINK and expires_at is not None
        cause = str(outcome.recorded[-1].event_id)
        links = [
            {
                "parent_ref": parent_ref,
                "cause": cause,
                "expires_at": expires_at.isoformat() if expires_at else None,
            }
            for parent_ref in (parents if personal else ())
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
        after=links_of_request,
        answer=answer,
    )
    return await links_shown(ctx, principal.swv, stored)


async def links_shown(ctx: ServiceContext, swv: str, stored: StoredAnswer) -> StoredAnswer:
    """The answer to a consent request as the API shows it: each link's token derived again.

    The remembered answer names the links (parent and the event that made them); their
    tokens are derived from the pupil's key each time, so a retry shows the same ones.
    """
    case_id = UUID(stored.body["case_id"])
    links = []
    if stored.body["links"]:
        async with ctx.commands.transactions.tenant(swv) as tx:
            state = CASE.fold_stored(await ctx.store.read_stream(str(case_id), conn=tx))
            key = await _pupil_key(tx, state)
        if key is None:
            raise Refusal.conflict("erasure", "the pupil was erased: the links no longer exist")
        for link in stored.body["links"]:
            token = link_tokens.derive(
                key, Purpose.CONSENT, swv, case_id, link["parent_ref"], UUID(link["cause"])
            )
            links.append(
                IssuedLink(
                    parent_ref=link["parent_ref"],
                    token=token,
                    url=f"/consent/{token}",
                    expires_at=link["expires_at"],
                )
            )
    shown = ConsentRequestAccepted(case_id=case_id, links=links)
    return StoredAnswer(stored.status_code, shown.model_dump(mode="json"))


def after_consent_change(swv: str, case_id: UUID, issued_by: str, now: datetime) -> Any:
    """The ``after`` of an answer or a withdrawal: the case's open links are void, and a
    confirmation gives the parent who consented a link to withdraw it (W10)."""

    async def after(tx: Any, outcome: Outcome[CaseState]) -> None:
        await consent_links.void_open(tx, case_id, now)
        last = outcome.recorded[-1]
        if last.event_type == ConsentConfirmed.event_type:
            await issue_links(
                tx,
                outcome.state,
                swv,
                case_id,
                (str(last.data["confirmed_by"]),),
                Purpose.WITHDRAWAL,
                last.event_id,
                issued_by,
                now,
                now + WITHDRAWAL_LINK_VALIDITY,
            )

    return after


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
            tx, state.encrypted_identity, principal.swv, state.pupil_ref, local_day(now)
        )
        return ConfirmConsent(case_id=case_id, parent_ref=parent_ref, method=method, pupil_age=age)

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
        after=after_consent_change(principal.swv, case_id, principal.subject, now),
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
    now = ctx.clock()
    command = WithdrawConsent(case_id=case_id, parent_ref=parent_ref, recorded_by=principal.subject)
    return await run_command(
        ctx.commands,
        case_id,
        command,
        tenant=principal.swv,
        actor=principal.subject,
        on_behalf_of=parent_ref,
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=command_check(principal, known),
        after=after_consent_change(principal.swv, case_id, principal.subject, now),
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


class LinkAnswer:
    """What a parent does through a personal link: confirm, refuse (a consent link), or
    withdraw (a withdrawal link)."""

    CONFIRM = "confirm"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


_PURPOSE_OF = {
    LinkAnswer.CONFIRM: Purpose.CONSENT,
    LinkAnswer.REFUSE: Purpose.CONSENT,
    LinkAnswer.WITHDRAW: Purpose.WITHDRAWAL,
}


async def answer_by_link(
    ctx: ServiceContext, token: str, verb: str, header: str | None, correlation_id: str
) -> StoredAnswer:
    """W10: the parent answers (or withdraws) through their personal link, once, in time.

    The link is marked used in the same transaction as the answer's event: a refused
    answer (a rule says no) leaves the link usable, a recorded one uses it up. With an
    Idempotency-Key, a retry of the recorded answer gets that answer again (the link
    being used by then is no reason to refuse it). A withdrawal through the link is
    recorded as the parent's own (``recorded_by`` empty), and reaches the other services
    as any withdrawal does.
    """
    now = ctx.clock()
    async with ctx.pool.acquire() as conn:
        link = await consent_links.find(conn, token, now)
    if link is None or link.purpose is not _PURPOSE_OF[verb]:
        raise no_such_case()
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
        if verb == LinkAnswer.WITHDRAW:
            return WithdrawConsent(
                case_id=link.case_id, parent_ref=link.parent_ref, recorded_by=None
            )
        if verb == LinkAnswer.REFUSE:
            return RefuseConsent(case_id=link.case_id, parent_ref=link.parent_ref, method=method)
        age = await pupil_keys.pupil_age(
            tx, state.encrypted_identity, link.swv, state.pupil_ref, local_day(now)
        )
        return ConfirmConsent(
            case_id=link.case_id, parent_ref=link.parent_ref, method=method, pupil_age=age
        )

    actor = f"parent:{link.parent_ref}"
    return await run_command(
        ctx.commands,
        link.case_id,
        prepare=prepare,
        tenant=link.swv,
        actor=actor,
        correlation_id=correlation_id,
        now=now,
        key=key,
        check=check,
        after=after_consent_change(link.swv, link.case_id, actor, now),
        answer=accepted(201),
    )
