"""Reactions to other services' events: a submitted request is routed (W14, W24, W26), a
withdrawn one leaves the inboxes and its contact timers stop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from passend_assignment.domain.case_commands import CASE_DECIDER, RouteRequest
from passend_assignment.domain.directory import DirectoryState, directory_stream
from passend_assignment.responsibility import sync_responsibility
from passend_assignment.streams import load_directory
from passend_assignment.timers import sync_timers
from passend_assignment.withdrawals import take_withdrawal
from passend_backbone.commands import decide_and_append
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import EventStore, Metadata
from passend_backbone.texts.erasure import erase_case_texts
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestSubmitted, RequestWithdrawn

ACTOR = "service:assignment"
_log = structlog.get_logger("passend.assignment.routing")


class DirectoryMemory:
    """The SWV directories as last folded, each with the stream version it was folded at.

    Every routing needs its SWV's directory, whose stream changes seldom: asking the
    stream's version is one indexed lookup, where reading and folding every directory
    event cost a tenth of the service's CPU per routed request. Stored events never
    change, so a directory folded at a version is the directory at that version.
    """

    def __init__(self) -> None:
        self._folded: dict[str, tuple[int, DirectoryState]] = {}

    async def directory(self, store: EventStore, swv: str, conn: Any) -> DirectoryState:
        """The directory as ``conn`` sees it now."""
        version = await store.stream_version(directory_stream(swv), conn)
        folded = self._folded.get(swv)
        if folded is not None and folded[0] == version:
            return folded[1]
        state, read_version = await load_directory(store, swv, conn)
        self._folded[swv] = (read_version, state)
        return state


class RoutingReactor:
    """``RequestSubmitted`` -> ``RequestRouted`` (+ ``SpecialistRequired``) and the timers;
    ``RequestWithdrawn`` -> ``CaseWithdrawn`` and the timers cancelled. One reactor for both,
    so a case's withdrawal is never handled before its routing (one partition per case).
    ``CaseErased`` deletes the case's key of the texts assignment sealed (the route coach's
    reason, ``passend_backbone.texts``)."""

    name: str = "routing"
    topics: tuple[str, ...] = (topics.INTAKE,)

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.directories = DirectoryMemory()

    async def react(
        self, conn: Any, event: CloudEvent, payload: EventPayload, store: EventStore
    ) -> None:
        if await erase_case_texts(conn, store, event, payload):
            return
        if isinstance(payload, RequestWithdrawn):
            await take_withdrawal(
                conn, store, event, payload, reactor=self.name, actor=ACTOR, now=self.clock()
            )
            return
        if isinstance(payload, RequestSubmitted):
            await self.route(conn, event, payload, store)

    async def route(
        self, conn: Any, event: CloudEvent, submitted: RequestSubmitted, store: EventStore
    ) -> None:
        """W24, W26: route the request and set its contact timers and who is responsible
        (W25), in the consumer's transaction; the SWV's directory is read in that same
        transaction.

        The event ids derive from intake's event, so a redelivery appends nothing; a case
        already routed (from another submission under the same case id) stays as routed.
        """
        now = self.clock()
        directory = await self.directories.directory(store, event.swv, conn)
        meta = Metadata(
            swv=event.swv,
            actor=ACTOR,
            correlation_id=event.correlationid,
            causation_id=str(event.id),
        )
        outcome = await decide_and_append(
            store,
            conn,
            CASE_DECIDER,
            str(submitted.case_id),
            RouteRequest(submitted, event.swv, directory),
            meta=meta,
            now=now,
            event_ids=lambda n: reaction_id(self.name, event.id, n),
        )
        if not outcome.recorded:
            _log.info("case_already_routed", case_id=str(submitted.case_id))
            return
        if outcome.state is not None:
            await sync_timers(conn, outcome.state, now)
            await sync_responsibility(conn, outcome.state)
