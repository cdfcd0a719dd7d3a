"""Running a command on an intake case: the backbone's ``execute`` with intake's decider."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    Outcome,
    StoredAnswer,
    execute,
)
from passend_backbone.commands.execute import After, Check, Prepare
from passend_backbone.eventstore import Metadata
from passend_intake.domain.commands import IntakeCommand
from passend_intake.domain.decider import CASE
from passend_intake.domain.state import CaseState

CaseAnswer = Callable[[Outcome[CaseState]], StoredAnswer]


def accepted(status_code: int) -> CaseAnswer:
    """The answer of most commands: the case, its last event's type and the new version."""

    def answer(outcome: Outcome[CaseState]) -> StoredAnswer:
        last = outcome.recorded[-1]
        body = {
            "case_id": outcome.stream_id,
            "event_type": last.event_type,
            "version": last.stream_version,
        }
        return StoredAnswer(status_code, body)

    return answer


async def run_command(
    ports: CommandPorts,
    case_id: UUID,
    command: IntakeCommand | None = None,
    *,
    prepare: Prepare[CaseState, IntakeCommand] | None = None,
    tenant: str,
    actor: str,
    correlation_id: str,
    now: datetime,
    key: IdempotencyKey | None,
    answer: CaseAnswer,
    check: Check[CaseState] | None = None,
    after: After[CaseState] | None = None,
    on_behalf_of: str | None = None,
) -> StoredAnswer:
    """Decide ``command`` (or what ``prepare`` builds in the transaction) on the case and
    append, in ``tenant``'s transaction; the same ``key`` gets the first answer back.

    A refusal is raised and leaves nothing behind. A key used before for another request
    is refused naming the ``Idempotency-Key`` header, as intake's API always did.
    """
    meta = Metadata(
        swv=tenant,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=str(uuid.uuid4()),  # this command's id
        on_behalf_of=on_behalf_of,
    )
    return await execute(
        ports,
        CASE,
        str(case_id),
        command,
        prepare=prepare,
        tenant=tenant,
        meta=meta,
        now=now,
        key=key,
        check=check,
        after=after,
        answer=answer,
    )
