"""Facts other services publish, taken into the trajectory's own log: claim, consent, complexity.

Consent and complexity are recorded as events in the case's trajectory stream (not looked up
in a read model when a command is decided), so replaying the stream alone gives the state
every gate decided on, and an auditor sees which consent fact a session relied on.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import (
    ComplexityNoted,
    ConsentNoted,
    ConsentStatus,
    TrajectoryOpened,
)
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.state import TrajectoryState


def open_trajectory(
    state: TrajectoryState,
    *,
    case_id: UUID,
    worker_id: str,
    school_id: str,
    ib_id: str,
    act: Act,
) -> list[EventPayload]:
    """W15, W25: a claim opens the trajectory, once; a later claim of the same case adds nothing."""
    if state.opened is not None:
        return []
    return [
        TrajectoryOpened(
            case_id=case_id,
            worker_id=worker_id,
            school_id=school_id,
            ib_id=ib_id,
            opened_at=act.at,
        )
    ]


def note_consent(
    state: TrajectoryState,
    *,
    case_id: UUID,
    status: ConsentStatus,
    by: str,
    at: datetime,
    source_event_id: UUID,
    act: Act,
) -> list[EventPayload]:
    """W10: note a consent fact; whether support pauses or resumes follows from it
    (:func:`passend_trajectory.domain.gates.pause_follow_up`)."""
    return [
        ConsentNoted(case_id=case_id, status=status, by=by, at=at, source_event_id=source_event_id)
    ]


def note_complexity(
    state: TrajectoryState,
    *,
    case_id: UUID,
    source: str,
    source_event_id: UUID,
    act: Act,
    specialist_id: str | None = None,
) -> list[EventPayload]:
    """W14: the case is complex; noted once, whichever signal came first."""
    if state.complex:
        return []
    return [
        ComplexityNoted(
            case_id=case_id,
            source=source,
            source_event_id=source_event_id,
            noted_at=act.at,
            specialist_id=specialist_id,
        )
    ]
