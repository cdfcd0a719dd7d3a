"""Taking intake's withdrawal of a request into the case's stream, and stopping its timers."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog

from passend_assignment.domain import case as case_domain
from passend_assignment.domain.withdrawal import note_withdrawal
from passend_assignment.streams import payloads
from passend_assignment.timers import sync_timers
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import EventStore, Metadata, NewEvent
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import RequestWithdrawn

_log = structlog.get_logger("passend.assignment.withdrawals")


async def take_withdrawal(
    conn: asyncpg.Connection,
    store: EventStore,
    event: CloudEvent,
    withdrawn: RequestWithdrawn,
    *,
    reactor: str,
    actor: str,
    now: datetime,
) -> None:
    """W24-W26: append ``CaseWithdrawn`` and cancel the contact timers, in one transaction.

    Runs in the routing reactor, which reads intake's topic in order per case: the
    request's ``RequestSubmitted`` was routed before its withdrawal arrives. The event id
    is derived from intake's event, so a redelivery appends nothing. A concurrent command
    on the case makes the append fail; the runner retries the whole batch and the rules
    decide again on the fresh stream.
    """
    records = await store.read_stream(str(withdrawn.case_id), conn=conn)
    case = case_domain.fold(payloads(records))
    if case is None or case.swv_id != event.swv:
        # Never routed here (its submission was refused as a duplicate case id), or another
        # SWV's case under the same id: nothing of this tenant to close.
        _log.warning("withdrawn_case_not_routed", case_id=str(withdrawn.case_id))
        return
    events = note_withdrawal(case, withdrawn)
    if not events:
        return
    meta = Metadata(
        swv=event.swv,
        actor=actor,
        correlation_id=event.correlationid,
        causation_id=str(event.id),
    )
    new = [NewEvent.of(e, event_id=reaction_id(reactor, event.id, i)) for i, e in enumerate(events)]
    await store.append(str(withdrawn.case_id), len(records), new, meta, conn=conn)
    after = case_domain.fold([*payloads(records), *events])
    if after is not None:
        await sync_timers(conn, after, now)
