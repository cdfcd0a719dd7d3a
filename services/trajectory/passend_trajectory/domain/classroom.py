"""The teacher's part in the trajectory (C, W16): the pupil's group, measures tried, reflections.

Seed 004 ("Rolverdeling tijdens ondersteuning") gives the teacher ("leerkracht") the
measures: work out, try and implement measures, aids or another approach together with
the support worker, and reflect together on what was tried and what to adjust. The
Werkwijzer keeps the teacher closely involved and finally responsible (W16). Who may do
this is the teacher of the pupil's group: the group is a fact of the trajectory (named at
the start conversation, or noted later, e.g. in a new school year), the teacher's groups
are the directory's (``PersonRegistered.groups``), checked by :func:`teaches_the_pupil`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import MeasureTried, PupilGroupNoted, ReflectionRecorded
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


def _no_group() -> Refusal:
    return Refusal.conflict(
        "W16",
        "the pupil's group is not recorded yet: the start conversation or the IB names it, "
        "then its teachers record measures and reflections",
    )


@dataclass(frozen=True)
class Teacher:
    """A teacher as the SWV's directory knows them (``PersonRegistered``)."""

    person_id: str
    school_id: str | None
    groups: frozenset[str]
    active: bool = True


def teaches_the_pupil(state: TrajectoryState, teacher: Teacher | None) -> Refusal | None:
    """W16, C: the teacher of the pupil stays involved and finally responsible (W16); the
    teacher's part is theirs (C). So a teacher records measures and reflections only for a
    pupil of their own group at their own school (None: they may).

    409 while the trajectory names no group yet (the start conversation or a later note
    names it); 403 for a teacher the directory doesn't list as active, of another school,
    or not teaching the pupil's group. Refused with W16, the rule of *which* teacher; what
    they record is refused with C.
    """
    if state.group is None:
        return _no_group()
    if teacher is None or not teacher.active:
        return Refusal.forbidden(
            "W16", "only a teacher the SWV's directory lists for the pupil's group may do this"
        )
    school = state.opened.school_id if state.opened is not None else None
    if school is not None and teacher.school_id != school:
        return Refusal.forbidden("W16", "the pupil is not at your school")
    if state.group not in teacher.groups:
        return Refusal.forbidden(
            "W16", f"the pupil is in {state.group}, which the directory doesn't list as yours"
        )
    return None


class NotePupilGroup(Command):
    group: str = Field(min_length=1, max_length=50, description="The pupil's group (class)")


def note_pupil_group(state: TrajectoryState, cmd: NotePupilGroup, act: Act) -> list[EventPayload]:
    """C: the pupil's group, e.g. in a new school year; its teachers take over the
    teacher's part from then on."""
    require_open(state)
    assert state.case_id is not None
    group = cmd.group.strip()
    if not group:
        raise Refusal.invalid("C", "name the pupil's group", field="group")
    if group == state.group:
        raise Refusal.conflict("C", f"the pupil's group already is {group}")
    return [
        PupilGroupNoted(case_id=state.case_id, group=group, noted_by=act.actor, noted_at=act.at)
    ]


class RecordMeasure(Command):
    measure_id: UUID
    description: str = Field(min_length=1, description="The measure, aid or approach")
    tried_from: date
    tried_until: date | None = None
    observations: str = Field(min_length=1, description="What worked, what did not, and why")


def record_measure(state: TrajectoryState, cmd: RecordMeasure, act: Act) -> list[EventPayload]:
    """C, W16: the teacher works out and tries a measure in the class and notes what worked,
    what did not and why; only what was tried (no dates ahead)."""
    require_open(state)
    assert state.case_id is not None
    if state.group is None:
        raise _no_group()
    today = act.today
    if not cmd.description.strip() or not cmd.observations.strip():
        raise Refusal.invalid("C", "a measure tried says what it is and what was seen")
    if cmd.tried_from > today:
        raise Refusal.invalid("C", "a measure is recorded once it is tried", field="tried_from")
    if cmd.tried_until is not None and not cmd.tried_from <= cmd.tried_until <= today:
        raise Refusal.invalid(
            "C", "tried_until lies between tried_from and today", field="tried_until"
        )
    if any(m.measure_id == cmd.measure_id for m in state.measures):
        raise Refusal.conflict("C", f"measure {cmd.measure_id} is already recorded")
    return [
        MeasureTried(
            case_id=state.case_id,
            measure_id=cmd.measure_id,
            description=cmd.description,
            tried_from=cmd.tried_from,
            tried_until=cmd.tried_until,
            observations=cmd.observations,
            group=state.group,
            recorded_by=act.actor,
            recorded_at=act.at,
        )
    ]


class RecordReflection(Command):
    reflection_id: UUID
    measure_ids: list[UUID] = Field(min_length=1, description="The measures reflected on")
    held_on: date
    reflection: str = Field(min_length=1)
    adjustments: str = Field(default="", description="What is adjusted and how")


def record_reflection(
    state: TrajectoryState, cmd: RecordReflection, act: Act
) -> list[EventPayload]:
    """C: teacher and support worker reflect together on measures tried and on what to
    adjust, and how; the reflection names measures of this trajectory."""
    require_open(state)
    assert state.case_id is not None
    assert state.opened is not None
    if not cmd.reflection.strip():
        raise Refusal.invalid("C", "a reflection says what was concluded", field="reflection")
    if cmd.held_on > act.today:
        raise Refusal.invalid("C", "a reflection is recorded once it is held", field="held_on")
    known = {m.measure_id for m in state.measures}
    unknown = sorted(str(m) for m in set(cmd.measure_ids) - known)
    if unknown:
        raise Refusal.conflict(
            "C", f"no measure {', '.join(unknown)} was tried in this trajectory to reflect on"
        )
    if any(r.reflection_id == cmd.reflection_id for r in state.reflections):
        raise Refusal.conflict("C", f"reflection {cmd.reflection_id} is already recorded")
    return [
        ReflectionRecorded(
            case_id=state.case_id,
            reflection_id=cmd.reflection_id,
            measure_ids=list(dict.fromkeys(cmd.measure_ids)),
            held_on=cmd.held_on,
            reflection=cmd.reflection,
            adjustments=cmd.adjustments,
            worker_id=state.opened.worker_id,
            recorded_by=act.actor,
            recorded_at=act.at,
        )
    ]
