"""Configuring an SWV's directory: compare a document with the stream, append what changed.

In one transaction: the open cases of the workers the document removes are read (W25),
the directory's events are appended, and the cases the document hands over get their
``CaseClaimed`` (with ``handed_over_from``) and their responsibility rows.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import structlog

from passend_assignment.directory_file import ENV_VAR, load_directory_file
from passend_assignment.domain.case_commands import CASE_DECIDER, HandOverCase
from passend_assignment.domain.directory import DirectoryState, directory_stream
from passend_assignment.domain.directory_commands import (
    DIRECTORY_DECIDER,
    ConfigureDirectory,
    changes,
)
from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.directory_scope import WHOLE_SWV, Scope
from passend_assignment.domain.handover import HandOver, leaving_workers
from passend_assignment.responsibility import open_cases, reserve_workers, sync_responsibility
from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    Outcome,
    Refusal,
    StoredAnswer,
    decide_and_append,
    execute,
)
from passend_backbone.eventstore import Metadata

if TYPE_CHECKING:
    from passend_backbone.service import ServiceContext

_log = structlog.get_logger("passend.assignment.directory")


def directory_answer(outcome: Outcome[Any], handed_over: list[HandOver]) -> StoredAnswer:
    """200 with the types of the events appended (none when the document changed nothing),
    and ``handed_over`` (case id -> worker) when the document handed cases over."""
    body: dict[str, Any] = {"events": [r.event_type for r in outcome.recorded]}
    if handed_over:
        body["handed_over"] = {str(h.case_id): h.to_worker for h in handed_over}
    return StoredAnswer(200, body)


async def apply_directory(
    ports: CommandPorts,
    doc: SwvDoc,
    meta: Metadata,
    now: datetime,
    key: IdempotencyKey | None = None,
    scope: Scope = WHOLE_SWV,
) -> StoredAnswer:
    """Make the SWV's directory say what ``doc`` says, in the SWV's tenant transaction.

    ``scope``: what the caller may change (a unit's coordinator: their unit). Refusals:
    see :func:`~passend_assignment.domain.directory_commands.changes`.
    """
    decided: list[tuple[DirectoryState, ConfigureDirectory]] = []

    async def with_open_cases(tx: Any, state: DirectoryState) -> ConfigureDirectory:
        # W25: who is responsible for the cases of the leaving workers, read after taking
        # their locks, so no claim of theirs commits unseen meanwhile.
        leaving = leaving_workers(state, doc)
        await reserve_workers(tx, doc.swv_id, leaving)
        responsible = await open_cases(tx, doc.swv_id, leaving, list(doc.hand_over))
        command = ConfigureDirectory(doc, scope, responsible)
        decided[:] = [(state, command)]
        return command

    handed_over: list[HandOver] = []

    async def hand_over(tx: Any, outcome: Outcome[DirectoryState]) -> None:
        state, command = decided[0]
        _events, plan = changes(state, command, now)
        handed_over[:] = plan
        for step in plan:
            case = await decide_and_append(
                ports.store,
                tx,
                CASE_DECIDER,
                str(step.case_id),
                HandOverCase(step, doc.swv_id),
                meta=Metadata(
                    swv=meta.swv,
                    actor=meta.actor,
                    correlation_id=meta.correlation_id,
                    causation_id=f"hand-over:{uuid4()}",
                ),
                now=now,
                event_ids=lambda _n: uuid4(),
            )
            if case.state is not None:
                await sync_responsibility(tx, case.state)

    return await execute(
        ports,
        DIRECTORY_DECIDER,
        directory_stream(doc.swv_id),
        prepare=with_open_cases,
        tenant=doc.swv_id,
        meta=meta,
        now=now,
        key=key,
        after=hand_over,
        answer=lambda outcome: directory_answer(outcome, handed_over),
    )


async def load_directory_at_start(ctx: ServiceContext, stop: asyncio.Event) -> None:
    """Background task: configure the SWVs of the file named by ``ASSIGNMENT_DIRECTORY_FILE``.

    Loading the same file at every start appends nothing new; an edited file appends the
    changes, so the directory's history stays auditable.
    """
    name = os.environ.get(ENV_VAR)
    if not name:
        return
    for doc in load_directory_file(Path(name)):
        meta = Metadata(
            swv=doc.swv_id,
            actor="service:assignment",
            correlation_id=f"directory-file:{name}",
            causation_id=f"directory-file:{name}",
        )
        try:
            answer = await apply_directory(ctx.commands, doc, meta, ctx.clock())
        except Refusal as refusal:
            # An edited file that would strand open cases (W25) waits for its fix.
            _log.error(
                "directory_not_loaded",
                swv=doc.swv_id,
                file=name,
                rule=refusal.rule,
                reason=refusal.message,
            )
            continue
        _log.info("directory_loaded", swv=doc.swv_id, file=name, events=len(answer.body["events"]))
