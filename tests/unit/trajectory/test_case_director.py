"""The case director (R) is derived from the route or set explicitly, each change with a reason."""

from __future__ import annotations

from passend_contracts.events.trajectory import (
    CaseDirectorChanged,
    CaseDirectorRole,
    EvaluationOutcome,
)
from passend_trajectory.domain.case_director import (
    NoteYouthCare,
    SetCaseDirector,
    set_case_director,
)
from tests.unit.trajectory.builders import (
    IB,
    SPECIALIST,
    Trajectory,
    act,
    conflict,
    evaluate,
    running,
)


def directors(t: Trajectory) -> list[tuple[str, str | None, bool]]:
    return [(d.role.value, d.person_id, d.explicit) for d in t.state.directors]


def test_r_the_ib_directs_a_case_within_basic_support() -> None:
    t = Trajectory().open()
    assert directors(t) == [("ib", IB, False)]
    assert "basic support" in t.state.directors[0].reason


def test_r_a_complex_case_is_directed_by_the_education_specialist_once_known() -> None:
    t = Trajectory().open()
    t.complex()
    assert directors(t)[-1] == ("education_specialist", None, False)
    t.analyse()
    assert directors(t)[-1] == ("education_specialist", SPECIALIST, False)


def test_r_care_level_3_deploys_swv_support_and_the_specialist_leads() -> None:
    t = running()
    evaluate(t, EvaluationOutcome.CHANGE_CARE_LEVEL, care_level=3, reason="extra support")
    assert t.state.director is not None
    assert t.state.director.role is CaseDirectorRole.EDUCATION_SPECIALIST
    assert "care level 3" in t.state.director.reason


def test_r_youth_care_makes_the_wijkteam_worker_director() -> None:
    t = running()
    t.run(NoteYouthCare(wijkteam_worker_id="wijkteam-5", reason="Home situation needs care"))
    assert directors(t)[-1] == ("wijkteam_worker", "wijkteam-5", False)


def test_r_an_explicit_director_holds_until_the_situation_changes() -> None:
    t = Trajectory().open()
    cmd = SetCaseDirector(
        role=CaseDirectorRole.EDUCATION_SPECIALIST, person_id="specialist-9", reason="asked by SWV"
    )
    [changed] = t.run(cmd)
    assert isinstance(changed, CaseDirectorChanged)
    assert changed.explicit is True
    t.explore()  # nothing in the situation changed: the explicit choice holds
    assert directors(t)[-1] == ("education_specialist", "specialist-9", True)
    youth = NoteYouthCare(wijkteam_worker_id="wijkteam-5", reason="youth care")
    t.run(youth)
    assert directors(t)[-1] == ("wijkteam_worker", "wijkteam-5", False)


def test_r_setting_the_current_director_again_is_refused() -> None:
    t = Trajectory().open()
    cmd = SetCaseDirector(role=CaseDirectorRole.IB, person_id=IB, reason="same")
    with conflict("already directs") as refused:
        set_case_director(t.state, cmd, act())
    assert refused.value.rule == "R"
