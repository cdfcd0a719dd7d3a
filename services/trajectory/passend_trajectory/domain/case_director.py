"""Who leads the case (regiehouder, R): derived from the route, or set explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import (
    CaseDirectorChanged,
    CaseDirectorRole,
    YouthCareNoted,
)
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


@dataclass(frozen=True)
class DerivedDirector:
    role: CaseDirectorRole
    person_id: str | None
    reason: str


def derive_director(state: TrajectoryState) -> DerivedDirector:
    """R: the wijkteam worker when youth care is needed; the education specialist when SWV
    support is deployed (care level 3 or higher, or a complex case, W14); else the IB, as
    support stays within basic support."""
    if state.youth_care is not None:
        return DerivedDirector(
            CaseDirectorRole.WIJKTEAM_WORKER,
            state.youth_care.wijkteam_worker_id,
            "youth care is needed: the wijkteam worker directs the case (R)",
        )
    level = state.care_level
    if (level is not None and level >= 3) or state.complex:
        why = f"care level {level}" if level is not None and level >= 3 else "a complex case"
        named = [c.specialist_id for c in state.complexity if c.specialist_id]
        analysis = state.specialist_analysis
        return DerivedDirector(
            CaseDirectorRole.EDUCATION_SPECIALIST,
            analysis.specialist_id if analysis else (named[0] if named else None),
            f"SWV support is deployed ({why}): the education specialist directs the case (R)",
        )
    return DerivedDirector(
        CaseDirectorRole.IB,
        state.opened.ib_id if state.opened else None,
        "support is education-focused within basic support: the IB directs the case (R)",
    )


def follow_up(state: TrajectoryState, act: Act) -> list[EventPayload]:
    """R: a change of director whenever the derived one differs from the basis of the last
    change; an explicit choice therefore holds until the situation it overrode changes."""
    if state.opened is None or state.ended or state.case_id is None:
        return []
    derived = derive_director(state)
    current = state.director
    if current is not None and (derived.role, derived.person_id) in (
        state.director_basis,
        (current.role, current.person_id),
    ):
        return []
    return [
        CaseDirectorChanged(
            case_id=state.case_id,
            role=derived.role,
            person_id=derived.person_id,
            reason=derived.reason,
            explicit=False,
            changed_at=act.at,
        )
    ]


class SetCaseDirector(Command):
    role: CaseDirectorRole
    person_id: str | None = None
    reason: str = Field(min_length=1)


def set_case_director(state: TrajectoryState, cmd: SetCaseDirector, act: Act) -> list[EventPayload]:
    """R: the case director set explicitly, with the reason."""
    require_open(state)
    assert state.case_id is not None
    current = state.director
    if current is not None and (current.role, current.person_id) == (cmd.role, cmd.person_id):
        raise Refusal.conflict(
            "R", f"{cmd.role.value} {cmd.person_id or ''} already directs the case"
        )
    return [
        CaseDirectorChanged(
            case_id=state.case_id,
            role=cmd.role,
            person_id=cmd.person_id,
            reason=cmd.reason,
            explicit=True,
            changed_at=act.at,
        )
    ]


class NoteYouthCare(Command):
    wijkteam_worker_id: str | None = None
    reason: str = Field(min_length=1)


def note_youth_care(state: TrajectoryState, cmd: NoteYouthCare, act: Act) -> list[EventPayload]:
    """R: youth care is needed; the wijkteam worker becomes the case director."""
    require_open(state)
    assert state.case_id is not None
    return [
        YouthCareNoted(
            case_id=state.case_id,
            wijkteam_worker_id=cmd.wijkteam_worker_id,
            reason=cmd.reason,
            noted_by=act.actor,
            noted_at=act.at,
        )
    ]
