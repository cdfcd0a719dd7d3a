"""Who may see a trajectory: the read model's facts completed with the stream's own (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from passend_backbone.auth import CaseFacts, Principal, Role
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    StagnationReason,
    TrajectoryOpened,
)
from passend_trajectory.domain.state import Escalation, TrajectoryState
from passend_trajectory.reach import with_stream, within_reach

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CASE = uuid4()
OPENED = TrajectoryOpened(
    case_id=CASE, worker_id="w-1", opened_at=NOW, school_id="sch-1", ib_id="ib-1"
)


def who(
    role: Role,
    subject: str = "u-1",
    *,
    school_id: str | None = None,
    work_unit_id: str | None = None,
    region: str | None = None,
    pupil_refs: tuple[str, ...] = (),
) -> Principal:
    return Principal(
        subject=subject,
        role=role,
        swv="swv-a",
        school_id=school_id,
        work_unit_id=work_unit_id,
        region=region,
        pupil_refs=pupil_refs,
    )


def test_a_just_claimed_case_is_its_workers_before_the_read_model_knows_it() -> None:
    known = CaseFacts(swv="swv-a")
    state = TrajectoryState(version=1, case_id=CASE, opened=OPENED)
    worker = who(Role.SUPPORT_WORKER, subject="w-1", work_unit_id="wu-1")
    assert not within_reach(worker, known)
    assert within_reach(worker, with_stream(known, state))
    stranger = who(Role.SUPPORT_WORKER, subject="w-9", work_unit_id="wu-2")
    assert not within_reach(stranger, with_stream(known, state))


def test_the_streams_own_escalation_decides_the_team_no_region() -> None:
    escalated = EscalatedToTeamNO(
        case_id=CASE,
        municipality="Vlaardingen",
        region="r-1",
        reasons=[next(iter(StagnationReason))],
        draft_plan="Bridging care.",
        escalated_at=NOW,
    )
    state = TrajectoryState(
        version=2, case_id=CASE, opened=OPENED, escalations=(Escalation(escalated=escalated),)
    )
    known = CaseFacts(swv="swv-a", escalated_region="r-2")
    facts = with_stream(known, state)
    assert within_reach(who(Role.TEAM_NO_MEMBER, region="r-1"), facts)
    assert not within_reach(who(Role.TEAM_NO_MEMBER, region="r-2"), facts)


def test_a_teacher_sees_only_the_pupils_in_the_token_and_another_tenant_nothing() -> None:
    facts = CaseFacts(swv="swv-a", school_id="sch-1", pupil_ref="p-1")
    assert within_reach(who(Role.TEACHER, school_id="sch-1", pupil_refs=("p-1",)), facts)
    assert not within_reach(who(Role.TEACHER, school_id="sch-1", pupil_refs=("p-2",)), facts)
    foreign = CaseFacts(swv="swv-b", school_id="sch-1", pupil_ref="p-1")
    assert not within_reach(who(Role.EDUCATION_SPECIALIST), foreign)
