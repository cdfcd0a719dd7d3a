"""Facts of other services taken into the log: claims (W25), consent (W10), complexity (W14),
the school's withdrawal of the request (W1), and the erasure of a case's pupil (its texts'
key is deleted: ``passend_backbone.texts``).

Each reaction is decided by the trajectory's decider and appended inside the consumer's
transaction (``decide_and_append``) with ids derived from the cause (``reaction_id``), so
a redelivered cause appends nothing. A transient failure (a deadlock, a lost connection)
is left to the consumer, which retries it for as long as it lasts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from passend_backbone.commands import decide_and_append
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import EventStore, Metadata
from passend_backbone.service import utc_now
from passend_backbone.texts.erasure import erase_case_texts
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed, SpecialistRequired
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentRefused,
    ConsentWithdrawn,
    RequestSubmitted,
    RequestWithdrawn,
)
from passend_contracts.events.trajectory import ConsentStatus
from passend_contracts.privacy import WITHDRAWN_BY_ERASURE
from passend_trajectory.domain.commands import Command, Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.facts import (
    WITHDRAWN_BY_SCHOOL,
    NoteComplexity,
    NoteConsent,
    NoteWithdrawal,
    OpenTrajectory,
)

ACTOR = "service:trajectory"
_log = structlog.get_logger("passend.trajectory.reactors")


def _meta(event: CloudEvent) -> Metadata:
    return Metadata(
        swv=event.swv,
        actor=ACTOR,
        correlation_id=event.correlationid,
        causation_id=str(event.id),
    )


class _Reactor:
    name: str
    topics: tuple[str, ...]

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock

    async def _react(
        self, conn: Any, event: CloudEvent, store: EventStore, case_id: UUID, command: Command
    ) -> None:
        """Decide ``command`` on the case's stream in the consumer's transaction ``conn``."""
        outcome = await decide_and_append(
            store,
            conn,
            DECIDER,
            str(case_id),
            Issued(ACTOR, command),
            meta=_meta(event),
            now=self.clock(),
            event_ids=lambda n: reaction_id(self.name, event.id, n),
        )
        if outcome.recorded:
            _log.info(
                "reacted",
                reactor=self.name,
                case_id=str(case_id),
                cause=event.type,
                events=[r.event_type for r in outcome.recorded],
            )


class ClaimReactor(_Reactor):
    """``CaseClaimed`` opens the trajectory (W25); ``SpecialistRequired`` marks it complex (W14)."""

    name: str = "claims"
    topics: tuple[str, ...] = (topics.ASSIGNMENT,)

    async def react(
        self, conn: Any, event: CloudEvent, payload: EventPayload, store: EventStore
    ) -> None:
        if isinstance(payload, CaseClaimed):
            opened = OpenTrajectory(
                case_id=payload.case_id,
                worker_id=payload.worker_id,
                school_id=payload.school_id,
                ib_id=payload.ib_id,
            )
            await self._react(conn, event, store, payload.case_id, opened)
        elif isinstance(payload, SpecialistRequired):
            complex_case = NoteComplexity(
                case_id=payload.case_id,
                source=event.type,
                source_event_id=event.id,
                specialist_id=payload.specialist_id,
            )
            await self._react(conn, event, store, payload.case_id, complex_case)


_CONSENT: dict[type[EventPayload], ConsentStatus] = {
    ConsentConfirmed: ConsentStatus.CONFIRMED,
    ConsentWithdrawn: ConsentStatus.WITHDRAWN,
    ConsentRefused: ConsentStatus.REFUSED,
}


def _consent_fact(payload: EventPayload) -> tuple[str, datetime]:
    if isinstance(payload, ConsentConfirmed):
        return payload.confirmed_by, payload.confirmed_at
    if isinstance(payload, ConsentWithdrawn):
        return payload.withdrawn_by, payload.withdrawn_at
    assert isinstance(payload, ConsentRefused)
    return payload.refused_by, payload.refused_at


class IntakeReactor(_Reactor):
    """Consent facts (W10), the school's multiple-problems flag (W14) and the withdrawal of
    the request (W1) from intake.

    The withdrawal is taken from intake's ``RequestWithdrawn``, the fact itself, and not
    from assignment's ``CaseWithdrawn``, which repeats it one hop later: one source, so
    what the trajectory notes never depends on which arrived first. Its reason is the
    school's words, sealed with intake's key; the trajectory notes who withdrew and when,
    and says why in its own words (:data:`WITHDRAWN_BY_SCHOOL`, or the erasure's text).
    """

    name: str = "intake_facts"
    topics: tuple[str, ...] = (topics.INTAKE,)

    async def react(
        self, conn: Any, event: CloudEvent, payload: EventPayload, store: EventStore
    ) -> None:
        if await erase_case_texts(conn, store, event, payload):
            return
        status = _CONSENT.get(type(payload))
        case_id: UUID | None = getattr(payload, "case_id", None)
        if status is not None and case_id is not None:
            by, at = _consent_fact(payload)
            noted = NoteConsent(
                case_id=case_id, status=status, by=by, at=at, source_event_id=event.id
            )
            await self._react(conn, event, store, case_id, noted)
        elif isinstance(payload, RequestWithdrawn):
            withdrawal = NoteWithdrawal(
                case_id=payload.case_id,
                withdrawn_by=payload.withdrawn_by,
                # The school's words are sealed with intake's key (issue 20): trajectory
                # says what happened in its own words; the words stay with the request.
                reason=WITHDRAWN_BY_ERASURE if payload.by_erasure else WITHDRAWN_BY_SCHOOL,
                withdrawn_at=payload.withdrawn_at,
                source_event_id=event.id,
            )
            await self._react(conn, event, store, payload.case_id, withdrawal)
        elif isinstance(payload, RequestSubmitted) and payload.multiple_problems:
            complex_case = NoteComplexity(
                case_id=payload.case_id, source=event.type, source_event_id=event.id
            )
            await self._react(conn, event, store, payload.case_id, complex_case)
