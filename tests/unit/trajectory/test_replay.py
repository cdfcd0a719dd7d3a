"""Replaying a trajectory's events gives the state its commands produced (W1, W10, W14, W21
hold)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from hypothesis import event as note
from hypothesis import example, given, settings
from hypothesis import strategies as st

from passend_backbone.commands import Refusal
from passend_backbone.working_days import calendar_for
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    CaseDirectorRole,
    ComplexityNoted,
    ConsentNoted,
    ConsentStatus,
    EvaluationOutcome,
    InvitationOccasion,
    SessionRecorded,
    SignalRecipient,
    SignalTopic,
    StagnationReason,
    SupportStarted,
    TrajectoryClosed,
    TrajectoryOpened,
    TrajectoryPaused,
    TrajectoryWithdrawn,
)
from passend_trajectory.domain.advisers import InviteAdviser
from passend_trajectory.domain.care_level import RecordOpp, RecordOppEvaluation
from passend_trajectory.domain.case_director import NoteYouthCare, SetCaseDirector
from passend_trajectory.domain.catalogue import parse_own
from passend_trajectory.domain.classroom import NotePupilGroup, RecordMeasure, RecordReflection
from passend_trajectory.domain.due import RemindEvaluations
from passend_trajectory.domain.evaluation import CloseTrajectory
from passend_trajectory.domain.evolve import replay
from passend_trajectory.domain.gates import consent_gate, specialist_gate
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.domain.support import AcknowledgeSignal, RaiseSignal, RecordSession
from passend_trajectory.domain.team_no import Escalate, RecordTeamNODecision
from tests.unit.trajectory.builders import Trajectory, escalation, evaluate

Step = Callable[[Trajectory, int], object]


def _uuid(n: int) -> UUID:
    return UUID(int=n + 1)


def _session(t: Trajectory, n: int) -> object:
    return t.run(RecordSession(session_id=_uuid(n), held_on=t.now.date(), hours=1 + n % 3))


def _signal(t: Trajectory, n: int) -> object:
    cmd = RaiseSignal(
        signal_id=_uuid(n % 3),
        addressed_to=[SignalRecipient.IB],
        about=SignalTopic.SCHOOL_OFFER,
        description="offer doesn't fit",
    )
    return t.run(cmd)


def _ack(t: Trajectory, n: int) -> object:
    return t.run(AcknowledgeSignal(signal_id=_uuid(n % 3)), "ib")


def _evaluate(outcome: EvaluationOutcome) -> Step:
    def step(t: Trajectory, n: int) -> object:
        kw: dict[str, object] = {}
        if outcome is EvaluationOutcome.CHANGE_CARE_LEVEL:
            kw = {"care_level": 1 + n % 4, "reason": "scaled"}
        if outcome is EvaluationOutcome.ESCALATE:
            kw = {"escalation": escalation((StagnationReason.EXTREMELY_COMPLEX,))}
        return evaluate(t, outcome, **kw)

    return step


def _opp(t: Trajectory, n: int) -> object:
    return t.run(RecordOpp(drawn_up_on=t.now.date()))


def _opp_eval(t: Trajectory, n: int) -> object:
    return t.run(RecordOppEvaluation(evaluated_on=t.now.date(), summary="ok"))


def _director(t: Trajectory, n: int) -> object:
    role = list(CaseDirectorRole)[n % 3]
    return t.run(SetCaseDirector(role=role, person_id=f"p-{n % 2}", reason="agreed in the OT"))


def _youth(t: Trajectory, n: int) -> object:
    return t.run(NoteYouthCare(wijkteam_worker_id="wijkteam-1", reason="youth care"))


def _escalate(t: Trajectory, n: int) -> object:
    cmd = Escalate(
        escalation_id=_uuid(100 + n),
        municipality=["GM0606", "GM0363"][n % 2],
        reasons=[list(StagnationReason)[n % 5]],
        draft_plan="draft",
        region=["waterweg", "amsterdam"][n % 2],  # as the SWV's regions route them
    )
    return t.run(cmd)


def _decide(t: Trajectory, n: int) -> object:
    return t.run(RecordTeamNODecision(decision="d", assignment="a", provider="p"), "team-no")


def _measure(t: Trajectory, n: int) -> object:
    cmd = RecordMeasure(
        measure_id=_uuid(200 + n % 3),
        description="timer",
        tried_from=t.now.date(),
        observations="ok",
    )
    return t.run(cmd, "teacher-3")


def _reflect(t: Trajectory, n: int) -> object:
    cmd = RecordReflection(
        reflection_id=_uuid(300 + n),
        measure_ids=[_uuid(200 + n % 3)],
        held_on=t.now.date(),
        reflection="helps",
    )
    return t.run(cmd, "teacher-3")


def _invite(t: Trajectory, n: int) -> object:
    cmd = InviteAdviser(
        invitation_id=_uuid(400 + n % 4),
        adviser_id="os-marleen",
        goal="next step",
        occasion=list(InvitationOccasion)[n % 4],
        meeting_on=t.now.date(),
    )
    return t.run(cmd, "ib")


STEPS: dict[str, Step] = {
    "open": lambda t, n: t.open(),
    "consent": lambda t, n: t.consent(list(ConsentStatus)[n % 3]),
    "complex": lambda t, n: t.complex(),
    "explore": lambda t, n: t.explore(),
    "analyse": lambda t, n: t.analyse(),
    "plan_pupil": lambda t, n: t.plan(reason="revised" if n % 2 else None),
    "plan_teacher": lambda t, n: t.plan((SupportLevel.TEACHER,), reason="narrowed"),
    "start": lambda t, n: t.start(),
    "session": _session,
    "signal": _signal,
    "ack": _ack,
    **{f"evaluate_{o.value}": _evaluate(o) for o in EvaluationOutcome},
    "close": lambda t, n: t.run(CloseTrajectory()),
    "opp": _opp,
    "opp_eval": _opp_eval,
    "director": _director,
    "youth": _youth,
    "escalate": _escalate,
    "team_no": _decide,
    "remind": lambda t, n: t.run(RemindEvaluations(calendar_for()), "trajectory"),
    "withdraw": lambda t, n: t.withdraw(),
    "group": lambda t, n: t.run(NotePupilGroup(group=f"groep {n % 2}"), "ib"),
    "measure": _measure,
    "reflect": _reflect,
    "invite": _invite,
}

_ROUTE = [("explore", 0, 0), ("plan_pupil", 0, 0), ("consent", 0, 0), ("start", 0, 0)]
_step = st.tuples(st.sampled_from(sorted(STEPS)), st.integers(0, 11), st.integers(0, 20))
# Half the scripts first take the route to running support, so later steps reach it often.
steps = st.tuples(st.booleans(), st.lists(_step, min_size=1, max_size=40)).map(
    lambda pair: (_ROUTE if pair[0] else []) + pair[1]
)


def run(
    script: list[tuple[str, int, int]], after_each: Callable[[TrajectoryState], None] | None = None
) -> Trajectory:
    """Run the script from an opened trajectory; refused commands are skipped."""
    t = Trajectory().open()
    for name, n, days in script:
        t.later(days=days)
        try:
            STEPS[name](t, n)
        except Refusal:
            continue
        if after_each is not None:
            after_each(t.state)
    return t


def w10_paused_exactly_while_consent_is_missing(state: TrajectoryState) -> None:
    """W10: after every command, running individual support is paused iff consent is lacking."""
    if state.ended:
        return
    lacking = state.support is not None and state.individual and not state.consent_active
    assert (state.paused is not None) == lacking


def through_json(event: EventPayload) -> EventPayload:
    parsed = parse_own(event.event_type, event.model_dump(mode="json"))
    assert parsed is not None
    return parsed


@settings(max_examples=150, deadline=None)
@given(steps)
def test_replaying_the_events_gives_the_state_the_commands_produced(script) -> None:
    t = run(script)
    note(f"status {t.state.status}")
    assert replay(t.events) == t.state
    assert replay(through_json(e) for e in t.events) == t.state
    assert t.state.version == len(t.events)


@settings(max_examples=100, deadline=None)
@given(steps, st.integers(0, 200))
def test_replay_from_any_stored_snapshot_gives_the_same_state(script, cut) -> None:
    t = run(script)
    k = cut % (len(t.events) + 1)
    snapshot = TrajectoryState.model_validate_json(replay(t.events[:k]).model_dump_json())
    assert replay(t.events[k:], snapshot) == t.state


@settings(max_examples=150, deadline=None)
@given(steps)
# Found by this test: paused for withdrawn consent, closed, then consent confirmed.
@example([*_ROUTE, ("consent", 1, 0), ("evaluate_close", 0, 0), ("close", 0, 0), ("consent", 0, 0)])
def test_w10_w21_invariants_hold_on_every_replayed_prefix(script) -> None:
    t = run(script, after_each=w10_paused_exactly_while_consent_is_missing)
    state = TrajectoryState()
    for event in t.events:
        if state.withdrawn is not None:  # W1: only other services' facts follow a withdrawal
            assert isinstance(event, ConsentNoted | ComplexityNoted | TrajectoryOpened)
        if state.closed is not None:
            assert not isinstance(event, TrajectoryWithdrawn)  # W21: one closing
        if isinstance(event, SessionRecorded | SupportStarted):
            consent_gate(state)  # W10: never passed with consent missing or withdrawn
        if isinstance(event, SupportStarted):
            specialist_gate(state)  # W14
        if isinstance(event, TrajectoryClosed):
            assert state.final_evaluation is not None  # W21
        state = replay([event], state)
        if isinstance(event, TrajectoryPaused):
            assert state.individual  # W10: only individual support pauses
    plans = [p.revision for p in state.plans]
    assert plans == list(range(1, len(plans) + 1))  # W15: every revision kept, in order
    # W10 holds while the trajectory runs; consent noted after its end resumes nothing.
    if state.paused is not None and not state.ended:
        assert not state.consent_active
