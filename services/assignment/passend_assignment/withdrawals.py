"""Taking intake's withdrawal of a request into the case's stream, and stopping its timers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from passend_assignment.domain.case_commands import CASE_DECIDER, NoteWithdrawal
from passend_assignment.responsibility import sync_responsibility
from passend_assignment.timers import sync_timers
from passend_backbone.commands import Refusal, RefusalKind, decide_and_append
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import EventStore, Metadata
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import RequestWithdrawn

_log = structlog.get_logger("passend.assignment.withdrawals")


async def take_withdrawal(
    conn: Any,
    store: EventStore,
    event: CloudEvent,
    withdrawn: RequestWithdrawn,
    *,
    reactor: str,
    actor: str,
    now: datetime,
) -> None:
    """W24-W26: append ``CaseWithdrawn``, cancel the contact timers and end the worker's
    responsibility (W25), in one transaction.

    Runs in the routing reactor, which reads intake's topic in order per case: the
    request's ``RequestSubmitted`` was routed before its withdrawal arrives. The event id
    is derived from intake's event, so a redelivery appends nothing, and a second
    withdrawal of a withdrawn case appends nothing either. A concurrent command on the
    case is decided again on the fresh stream.
    """
    meta = Metadata(
        swv=event.swv,
        actor=actor,
        correlation_id=event.correlationid,
        causation_id=str(event.id),
    )
    try:
        outcome = await decide_and_append(
            store,
            conn,
            CASE_DECIDER,
            str(withdrawn.case_id),
            NoteWithdrawal(withdrawn, event.swv),
            meta=meta,
            now=now,
            event_ids=lambda n: reaction_id(reactor, event.id, n),
        )
    except Refusal as refusal:
        if refusal.kind is not RefusalKind.NOT_FOUND:
            raise
        # Never routed here (its submission was refused as a duplicate case id), or another
        # SWV's case under the same id: nothing of this tenant to close.
        _log.warning("withdrawn_case_not_routed", case_id=str(withdrawn.case_id))
        return
    if outcome.recorded and outcome.state is not None:
        await sync_timers(conn, outcome.state, now)
        await sync_responsibility(conn, outcome.state)
