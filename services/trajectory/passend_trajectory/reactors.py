"""Facts of other services taken into the log: claims (W25), consent (W10), complexity (W14)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog

from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import EventStore, Metadata
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed, SpecialistRequired
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentRefused,
    ConsentWithdrawn,
    RequestSubmitted,
)
from passend_contracts.events.trajectory import ConsentStatus
from passend_trajectory.domain import facts
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.handlers import react

ACTOR = "service:trajectory"
_log = structlog.get_logger("passend.trajectory.reactors")


def _wall_clock() -> datetime:
    return datetime.now(UTC)


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

    def __init__(self, clock: Callable[[], datetime] = _wall_clock) -> None:
        self.clock = clock

    async def _react(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        store: EventStore,
        case_id: UUID,
        decision: Callable[[TrajectoryState, Act], list[EventPayload]],
    ) -> None:
        act = Act(actor=ACTOR, at=self.clock())
        appended = await react(
            store,
            conn,
            case_id,
            lambda state: decision(state, act),
            _meta(event),
            lambda n: reaction_id(self.name, event.id, n),
            act,
        )
        if appended:
            _log.info(
                "reacted",
                reactor=self.name,
                case_id=str(case_id),
                cause=event.type,
                events=[r.event_type for r in appended],
            )


class ClaimReactor(_Reactor):
    """``CaseClaimed`` opens the trajectory (W25); ``SpecialistRequired`` marks it complex (W14)."""

    name: str = "claims"
    topics: tuple[str, ...] = (topics.ASSIGNMENT,)

    async def react(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        payload: EventPayload,
        store: EventStore,
    ) -> None:
        if isinstance(payload, CaseClaimed):
            claimed = payload
            await self._react(
                conn,
                event,
                store,
                claimed.case_id,
                lambda s, act: facts.open_trajectory(
                    s,
                    case_id=claimed.case_id,
                    worker_id=claimed.worker_id,
                    school_id=claimed.school_id,
                    ib_id=claimed.ib_id,
                    act=act,
                ),
            )
        elif isinstance(payload, SpecialistRequired):
            required = payload
            await self._react(
                conn,
                event,
                store,
                required.case_id,
                lambda s, act: facts.note_complexity(
                    s,
                    case_id=required.case_id,
                    source=event.type,
                    source_event_id=event.id,
                    specialist_id=required.specialist_id,
                    act=act,
                ),
            )


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
    """Consent facts (W10) and the school's multiple-problems flag (W14) from intake."""

    name: str = "intake_facts"
    topics: tuple[str, ...] = (topics.INTAKE,)

    async def react(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        payload: EventPayload,
        store: EventStore,
    ) -> None:
        status = _CONSENT.get(type(payload))
        case_id: UUID | None = getattr(payload, "case_id", None)
        if status is not None and case_id is not None:
            by, at = _consent_fact(payload)
            await self._react(
                conn,
                event,
                store,
                case_id,
                lambda s, act: facts.note_consent(
                    s,
                    case_id=case_id,
                    status=status,
                    by=by,
                    at=at,
                    source_event_id=event.id,
                    act=act,
                ),
            )
        elif isinstance(payload, RequestSubmitted) and payload.multiple_problems:
            submitted = payload
            await self._react(
                conn,
                event,
                store,
                submitted.case_id,
                lambda s, act: facts.note_complexity(
                    s,
                    case_id=submitted.case_id,
                    source=event.type,
                    source_event_id=event.id,
                    act=act,
                ),
            )
