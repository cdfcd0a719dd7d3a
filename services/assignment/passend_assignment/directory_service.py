"""Configuring an SWV's directory: compare a document with the stream, append what changed."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from passend_assignment.directory_file import ENV_VAR, load_directory_file
from passend_assignment.domain.directory import configure, directory_stream
from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.errors import conflict
from passend_assignment.streams import load_directory
from passend_backbone.eventstore import ConcurrencyError, EventStore, Metadata, NewEvent
from passend_contracts.events.base import EventPayload

if TYPE_CHECKING:
    from passend_backbone.service import ServiceContext

_log = structlog.get_logger("passend.assignment.directory")
ATTEMPTS = 3


async def apply_directory(
    store: EventStore, doc: SwvDoc, meta: Metadata, now: datetime
) -> list[EventPayload]:
    """Make the SWV's directory say what ``doc`` says; the events appended (none if equal)."""
    for _ in range(ATTEMPTS):
        state, version = await load_directory(store, doc.swv_id)
        events = configure(state, doc, now)
        if not events:
            return []
        try:
            await store.append(
                directory_stream(doc.swv_id), version, [NewEvent.of(e) for e in events], meta
            )
        except ConcurrencyError:
            continue
        return events
    raise conflict("concurrency", "the directory kept changing meanwhile: reload and try again")


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
        events = await apply_directory(ctx.store, doc, meta, ctx.clock())
        _log.info("directory_loaded", swv=doc.swv_id, file=name, events=len(events))
