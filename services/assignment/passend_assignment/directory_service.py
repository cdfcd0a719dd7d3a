"""Configuring an SWV's directory: compare a document with the stream, append what changed."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from passend_assignment.directory_file import ENV_VAR, load_directory_file
from passend_assignment.domain.directory import directory_stream
from passend_assignment.domain.directory_commands import DIRECTORY_DECIDER, ConfigureDirectory
from passend_assignment.domain.directory_doc import SwvDoc
from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    Outcome,
    StoredAnswer,
    execute,
)
from passend_backbone.eventstore import Metadata

if TYPE_CHECKING:
    from passend_backbone.service import ServiceContext

_log = structlog.get_logger("passend.assignment.directory")


def directory_answer(outcome: Outcome[Any]) -> StoredAnswer:
    """200 with the types of the events appended (none when the document changed nothing)."""
    return StoredAnswer(200, {"events": [r.event_type for r in outcome.recorded]})


async def apply_directory(
    ports: CommandPorts,
    doc: SwvDoc,
    meta: Metadata,
    now: datetime,
    key: IdempotencyKey | None = None,
) -> StoredAnswer:
    """Make the SWV's directory say what ``doc`` says, in the SWV's tenant transaction."""
    return await execute(
        ports,
        DIRECTORY_DECIDER,
        directory_stream(doc.swv_id),
        ConfigureDirectory(doc),
        tenant=doc.swv_id,
        meta=meta,
        now=now,
        key=key,
        answer=directory_answer,
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
        answer = await apply_directory(ctx.commands, doc, meta, ctx.clock())
        _log.info("directory_loaded", swv=doc.swv_id, file=name, events=len(answer.body["events"]))
