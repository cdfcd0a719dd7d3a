"""Facts other services publish, taken into the trajectory's own log: claim, consent,
complexity, and the school's withdrawal of the request.

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
    TrajectoryWithdrawn,
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
    """W15, W25: a claim opens the trajectory, once; a later claim of the same case adds nothing.

    W1: a claim that raced the school's withdrawal (assignment took it before it heard of
    the withdrawal) still opens the trajectory, for the claim happened; the trajectory is
    withdrawn all the same, whichever of the two arrived first (:func:`note_withdrawal`).
    """
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


# What the trajectory says of a school's withdrawal: the school's own words are sealed with
# intake's key (issue 20) and are read on the request.
WITHDRAWN_BY_SCHOOL = "De school heeft de aanvraag ingetrokken; de reden staat bij de aanvraag."


class NoteWithdrawal(Command):
    """The school withdrew its request (intake's ``RequestWithdrawn``)."""

    case_id: UUID
    withdrawn_by: str
    reason: str
    withdrawn_at: datetime
    source_event_id: UUID


def note_withdrawal(state: TrajectoryState, cmd: NoteWithdrawal, act: Act) -> list[EventPayload]:
    """W1, W2: the withdrawal ends the trajectory; it does not pause it.

    The Werkwijzer makes the school's request the condition for deploying a support worker
    ("Een hulpvraag vanuit de school is voorwaarde voor inzet van de onderwijsondersteuner",
    W1) and the starting point of the work (W2). A pause is what W10 prescribes while
    consent is missing, because consent can be given again and the same work resumes; a
    withdrawn request does not come back (intake refuses every step on it; the school
    submits a new request, a new case). So the trajectory is withdrawn for good: every
    later command is refused with W1 and the withdrawal's date
    (:func:`passend_trajectory.domain.guards.refuse_if_withdrawn`).

    Noted once, opened or not (a withdrawal that arrives before the racing claim is noted
    first, and the claim still opens a withdrawn trajectory), so every order of arrival
    ends in the same state. ``withdrawn_at`` is intake's, so the trajectory dates the end
    of the case as intake and assignment do. A trajectory already closed after its final
    evaluation (W21) keeps that closing: it ended before the withdrawal, and its one
    closing stays the one the retention period counts from.
    """
    if state.withdrawn is not None or state.closed is not None:
        return []
    return [
        TrajectoryWithdrawn(
            case_id=cmd.case_id,
            withdrawn_by=cmd.withdrawn_by,
            reason=cmd.reason,
            withdrawn_at=cmd.withdrawn_at,
            source_event_id=cmd.source_event_id,
            noted_at=act.at,
        )
    ]
