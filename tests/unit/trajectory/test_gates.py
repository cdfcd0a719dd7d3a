"""The gates before support refuse with their rule: plan (W15), consent (W10), specialist (W14)."""

from __future__ import annotations

from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    ConsentStatus,
    SupportStarted,
    TrajectoryPaused,
    TrajectoryResumed,
)
from tests.unit.trajectory.builders import Trajectory, conflict


def explored() -> Trajectory:
    return Trajectory().open().explore()


def test_w15_support_needs_a_plan() -> None:
    t = explored()
    with conflict("no plan recorded") as refused:
        t.start()
    assert refused.value.rule == "W15"


def test_w10_individual_support_without_consent_is_refused() -> None:
    t = explored()
    t.plan(supported=(SupportLevel.PUPIL,))
    with conflict("no parental consent recorded") as refused:
        t.start()
    assert refused.value.rule == "W10"


def test_w10_withdrawn_consent_refuses_the_start_naming_the_date() -> None:
    t = explored()
    t.plan()
    t.consent(ConsentStatus.CONFIRMED)
    t.later(days=1).consent(ConsentStatus.WITHDRAWN)
    with conflict(r"consent withdrawn on 2026-09-15: record new"):
        t.start()


def test_w10_support_for_the_teacher_only_needs_no_consent() -> None:
    t = explored()
    t.plan(supported=(SupportLevel.TEACHER, SupportLevel.GROUP))
    started = t.start()
    assert isinstance(started[0], SupportStarted)
    assert started[0].individual is False


def test_w10_consent_noted_before_the_trajectory_opened_counts() -> None:
    t = Trajectory()
    t.consent(ConsentStatus.CONFIRMED)
    t.open().explore().plan()
    assert isinstance(t.start()[0], SupportStarted)


def test_w10_withdrawal_pauses_running_support_and_new_consent_resumes_it() -> None:
    t = explored()
    t.plan()
    t.consent()
    t.start()
    paused = t.consent(ConsentStatus.WITHDRAWN)
    assert isinstance(paused[-1], TrajectoryPaused)
    assert paused[-1].rule == "W10"
    assert t.state.status == "paused"
    resumed = t.consent(ConsentStatus.CONFIRMED)
    assert isinstance(resumed[-1], TrajectoryResumed)
    assert t.state.status == "in_support"


def test_w10_withdrawal_does_not_pause_support_that_is_not_individual() -> None:
    t = explored()
    t.plan(supported=(SupportLevel.TEAM,))
    t.start()
    events = t.consent(ConsentStatus.WITHDRAWN)
    assert len(events) == 1
    assert t.state.paused is None


def test_w14_complex_case_cannot_start_without_the_specialists_analysis() -> None:
    t = explored()
    t.complex("nl.passend.assignment.SpecialistRequired.v1")
    t.plan()
    t.consent()
    with conflict(r"marked complex \(the education specialist was required") as refused:
        t.start()
    assert refused.value.rule == "W14"
    assert "nl.passend" not in refused.value.message  # issue 24: no internal event type
    t.analyse()
    assert isinstance(t.start()[0], SupportStarted)


def test_w14_issue_24_the_refusal_says_in_words_that_the_school_named_multiple_problems() -> None:
    t = explored()
    t.complex("nl.passend.intake.RequestSubmitted.v1")
    t.plan()
    t.consent()
    with conflict(r"marked complex \(the school's request names multiple problems\)") as refused:
        t.start()
    assert "nl.passend" not in refused.value.message and "RequestSubmitted" not in (
        refused.value.message
    )


def test_w14_complexity_is_noted_once_whichever_signal_comes_first() -> None:
    t = explored()
    t.complex("nl.passend.intake.RequestSubmitted.v1")
    t.complex("nl.passend.assignment.SpecialistRequired.v1")
    assert len(t.state.complexity) == 1


def test_w15_support_starts_once() -> None:
    t = explored()
    t.plan(supported=(SupportLevel.TEACHER,))
    t.start()
    with conflict("already started") as refused:
        t.start()
    assert refused.value.rule == "W15"


def test_w10_a_revision_that_makes_support_individual_pauses_it_until_consent() -> None:
    t = explored()
    t.plan(supported=(SupportLevel.TEACHER,))
    t.start()
    events = t.plan(supported=(SupportLevel.PUPIL,), reason="the pupil needs direct support")
    assert isinstance(events[-1], TrajectoryPaused)
    assert "no consent recorded" in events[-1].reason
    resumed = t.consent(ConsentStatus.CONFIRMED)
    assert isinstance(resumed[-1], TrajectoryResumed)


def test_w10_a_revision_to_teacher_support_only_resumes_paused_support() -> None:
    t = explored()
    t.plan()
    t.consent()
    t.start()
    t.consent(ConsentStatus.WITHDRAWN)
    events = t.plan(supported=(SupportLevel.TEACHER,), reason="parents want no pupil support")
    assert isinstance(events[-1], TrajectoryResumed)
    assert events[-1].reason == "the plan no longer supports the pupil individually"


def test_w14_a_complex_cases_plan_is_recorded_before_the_analysis_support_waits_for_it() -> None:
    """W14: "een analyse alvorens er ondersteuning geboden wordt": the analysis comes before
    support is given, not before the plan support worker and school agree on (W15)."""
    t = explored()
    t.complex("nl.passend.assignment.SpecialistRequired.v1")
    [planned, *_] = t.plan(supported=(SupportLevel.TEACHER,))
    assert planned.event_type == "nl.passend.trajectory.PlanRecorded.v1"
    with conflict("analysis must be recorded before support starts") as refused:
        t.start()
    assert refused.value.rule == "W14"
    assert t.state.support is None  # so no session can be recorded either (W15, W23)
    t.analyse()
    revised = t.plan(supported=(SupportLevel.TEACHER,), reason="the analysis widened it")
    assert revised[0].revision == 2  # type: ignore[attr-defined]
    assert isinstance(t.start()[0], SupportStarted)


def test_w14_the_analysis_may_also_come_before_the_plan() -> None:
    t = explored()
    t.complex()
    t.analyse()
    t.plan(supported=(SupportLevel.TEACHER,))
    assert isinstance(t.start()[0], SupportStarted)
