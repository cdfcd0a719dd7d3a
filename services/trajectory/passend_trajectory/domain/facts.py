"""Facts other services publish, taken into the trajectory's own log: claim, consent, complexity.

Consent and complexity are recorded as events in the case's trajectory stream (not looked up
in a read model when a command is decided), so replaying the stream alone gives the state
every gate decided on, and an auditor sees which consent fact a session relied on. The
reactors give these commands as the service.
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
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.state import TrajectoryState


class OpenTrajectory(Command):
    """A support worker claimed the case (assignment's ``CaseClaimed``)."""

    case_id: UUID
    worker_id: str
    school_id: str
    ib_id: str


def open_trajectory(state: TrajectoryState, cmd: OpenTrajectory, act: Act) -> list[EventPayload]:
    """W15, W25: a claim opens the trajectory, once; a later claim of the same case adds nothing."""
    if state.opened is not None:
        return []
    return [
        TrajectoryOpened(
            case_id=cmd.case_id,
            worker_id=cmd.worker_id,
            school_id=cmd.school_id,
            ib_id=cmd.ib_id,
            opened_at=act.at,
        )
    ]


class NoteConsent(Command):
    """Intake recorded a consent fact: confirmed, withdrawn or refused."""

    case_id: UUID
    status: ConsentStatus
    by: str
    at: datetime
    source_event_id: UUID


def note_consent(state: TrajectoryState, cmd: NoteConsent, act: Act) -> list[EventPayload]:
    """W10: note a consent fact; whether support pauses or resumes follows from it
    (:func:`passend_trajectory.domain.gates.pause_follow_up`)."""
    return [
        ConsentNoted(
            case_id=cmd.case_id,
            status=cmd.status,
            by=cmd.by,
            at=cmd.at,
            source_event_id=cmd.source_event_id,
        )
    ]


class NoteComplexity(Command):
    """The case is complex: assignment's ``SpecialistRequired``, or intake's request with
    multiple problems (``source`` names the event type)."""

    case_id: UUID
    source: str
    source_event_id: UUID
    specialist_id: str | None = None


def note_complexity(state: TrajectoryState, cmd: NoteComplexity, act: Act) -> list[EventPayload]:
    """W14: the case is complex; noted once, whichever signal came first."""
    if state.complex:
        return []
    return [
        ComplexityNoted(
            case_id=cmd.case_id,
            source=cmd.source,
            source_event_id=cmd.source_event_id,
            noted_at=act.at,
            specialist_id=cmd.specialist_id,
        )
    ]
