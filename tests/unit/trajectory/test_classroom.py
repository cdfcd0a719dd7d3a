"""The teacher's part (C, W16): the pupil's group, measures tried, reflections; advisers (C)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    AdviserInvited,
    InvitationOccasion,
    MeasureTried,
    PupilGroupNoted,
    ReflectionRecorded,
)
from passend_trajectory.domain.advisers import InviteAdviser
from passend_trajectory.domain.classroom import (
    NotePupilGroup,
    RecordMeasure,
    RecordReflection,
    Teacher,
    teaches_the_pupil,
)
from passend_trajectory.domain.exploration import RecordStartConversation
from tests.unit.trajectory.builders import IB, WORKER, Trajectory, conflict, invalid

TEACHER = "teacher-3"
GROUP = "groep 5b"


def teacher(**changes: object) -> Teacher:
    values: dict[str, object] = {
        "person_id": TEACHER,
        "school_id": "school-1",
        "groups": frozenset({GROUP, "groep 6"}),
        "active": True,
        **changes,
    }
    return Teacher(**values)  # type: ignore[arg-type]


def with_group(group: str | None = GROUP) -> Trajectory:
    t = Trajectory().open()
    t.run(
        RecordStartConversation(
            participants=[WORKER, IB, TEACHER],
            sharpened_question="How does the pupil start work on his own?",
            levels=[SupportLevel.PUPIL],
            held_on=t.now.date(),
            group=group,
        )
    )
    return t


def measure(t: Trajectory, measure_id: UUID | None = None, **changes: object) -> list:
    values: dict[str, object] = {
        "measure_id": measure_id or uuid4(),
        "description": "A timer on the desk for the first ten minutes.",
        "tried_from": t.now.date() - timedelta(days=10),
        "observations": "Starts sooner on three of five days; not after the break.",
        **changes,
    }
    return t.run(RecordMeasure(**values), TEACHER)


def reflect(t: Trajectory, measure_ids: list[UUID], **changes: object) -> list:
    values: dict[str, object] = {
        "reflection_id": uuid4(),
        "measure_ids": measure_ids,
        "held_on": t.now.date(),
        "reflection": "The timer helps in the morning only.",
        "adjustments": "A picture cue after the break.",
        **changes,
    }
    return t.run(RecordReflection(**values), TEACHER)


def test_c_the_group_named_at_the_start_conversation_is_the_pupils_group() -> None:
    t = with_group("  groep 5b ")
    assert t.state.group == GROUP
    assert teaches_the_pupil(t.state, teacher()) is None


def test_w16_no_teacher_records_while_the_trajectory_names_no_group() -> None:
    refused = teaches_the_pupil(with_group(None).state, teacher())
    assert refused is not None
    assert (refused.kind, refused.rule) == (RefusalKind.CONFLICT, "W16")
    assert "group is not recorded yet" in refused.message


@pytest.mark.parametrize(
    ("who", "why"),
    [
        (None, "directory lists"),
        (teacher(active=False), "directory lists"),
        (teacher(school_id="school-2"), "not at your school"),
        (teacher(groups=frozenset({"groep 7"})), "the pupil is in groep 5b"),
    ],
)
def test_w16_only_a_teacher_of_the_pupils_group_at_its_school_records(
    who: Teacher | None, why: str
) -> None:
    refused = teaches_the_pupil(with_group().state, who)
    assert refused is not None
    assert (refused.kind, refused.rule) == (RefusalKind.FORBIDDEN, "W16")
    assert why in refused.message


def test_c_a_new_group_is_noted_and_its_teachers_take_over() -> None:
    t = with_group()
    [noted] = t.run(NotePupilGroup(group="groep 6a"), IB)
    assert isinstance(noted, PupilGroupNoted)
    assert t.state.group == "groep 6a"
    assert teaches_the_pupil(t.state, teacher()) is not None
    with conflict("already is groep 6a") as refused:
        t.run(NotePupilGroup(group="groep 6a"), IB)
    assert refused.value.rule == "C"


def test_c_the_teacher_records_a_measure_tried_with_what_worked() -> None:
    t = with_group()
    [tried] = measure(t, tried_until=t.now.date())
    assert isinstance(tried, MeasureTried)
    assert (tried.group, tried.recorded_by) == (GROUP, TEACHER)
    assert t.state.measures == (tried,)


def test_c_a_measure_is_recorded_once_it_is_tried_and_once() -> None:
    t = with_group()
    with invalid("once it is tried") as refused:
        measure(t, tried_from=t.now.date() + timedelta(days=1))
    assert refused.value.rule == "C"
    with invalid("between tried_from and today"):
        measure(t, tried_until=t.now.date() - timedelta(days=20))
    with invalid("what it is and what was seen"):
        measure(t, observations="   ")
    same = uuid4()
    measure(t, same)
    with conflict("already recorded"):
        measure(t, same)


def test_c_teacher_and_support_worker_reflect_on_measures_tried() -> None:
    t = with_group()
    [first] = measure(t)
    [second] = measure(t)
    ids = [first.measure_id, second.measure_id, first.measure_id]
    [reflection] = reflect(t, ids)
    assert isinstance(reflection, ReflectionRecorded)
    assert reflection.measure_ids == ids[:2]
    assert reflection.worker_id == WORKER  # held with the trajectory's support worker
    assert reflection.adjustments == "A picture cue after the break."


def test_c_a_reflection_names_measures_tried_in_this_trajectory() -> None:
    t = with_group()
    with conflict("was tried in this trajectory") as refused:
        reflect(t, [uuid4()])
    assert refused.value.rule == "C"
    [tried] = measure(t)
    with invalid("once it is held"):
        reflect(t, [tried.measure_id], held_on=t.now.date() + timedelta(days=1))


def invite(t: Trajectory, actor: str = IB, **changes: object) -> list:
    values: dict[str, object] = {
        "invitation_id": uuid4(),
        "adviser_id": "os-marleen",
        "goal": "Decide together whether special basic education is to be explored.",
        "occasion": InvitationOccasion.REORIENTATION,
        "meeting_on": t.now.date() + timedelta(days=7),
        **changes,
    }
    return t.run(InviteAdviser(**values), actor)


@pytest.mark.parametrize("partner", [IB, TEACHER, WORKER, "os-jeroen"])
def test_c_any_partner_invites_a_named_adviser_with_a_goal(partner: str) -> None:
    t = with_group()
    [invited] = invite(t, partner)
    assert isinstance(invited, AdviserInvited)
    assert (invited.adviser_id, invited.invited_by) == ("os-marleen", partner)
    assert t.state.invitations == (invited,)


def test_c_an_invitation_has_a_goal_a_day_to_come_and_someone_else() -> None:
    t = with_group()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"goal": "  "}, "clear goal"),
        ({"meeting_on": t.now.date() - timedelta(days=1)}, "in the past"),
        ({"adviser_id": IB}, "other than yourself"),
    ]
    for changes, message in cases:
        with pytest.raises(Refusal, match=message) as refused:
            invite(t, **changes)
        assert (refused.value.kind, refused.value.rule) == (RefusalKind.INVALID, "C")
    same = uuid4()
    invite(t, invitation_id=same)
    with conflict("already sent"):
        invite(t, invitation_id=same)
