"""The trajectory's decider: each command to its rule, then the pause (W10) and case director
(R) the rule's events imply."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from passend_backbone.commands import Decider
from passend_contracts.events.base import EventPayload
from passend_trajectory.domain import (
    advisers,
    care_level,
    case_director,
    classroom,
    due,
    evaluation,
    exploration,
    facts,
    gates,
    plan,
    support,
    team_no,
)
from passend_trajectory.domain.case_director import follow_up
from passend_trajectory.domain.commands import Act, Issued
from passend_trajectory.domain.evolve import evolve, replay
from passend_trajectory.domain.gates import pause_follow_up
from passend_trajectory.domain.state import TrajectoryState

Rule = Callable[[TrajectoryState, Any, Act], list[EventPayload]]

# Every command the trajectory takes, and the rule that decides it.
RULES: dict[type[Any], Rule] = {
    # other services' facts, given by the reactors (W25, W10, W14, W1)
    facts.OpenTrajectory: facts.open_trajectory,
    facts.NoteConsent: facts.note_consent,
    facts.NoteComplexity: facts.note_complexity,
    facts.NoteWithdrawal: facts.note_withdrawal,
    # exploration and plan (W6, W7, W14, W15-W17, W20)
    exploration.RecordStartConversation: exploration.record_start_conversation,
    exploration.RecordSpecialistAnalysis: exploration.record_specialist_analysis,
    plan.RecordPlan: plan.record_plan,
    # support (W15, W10, W14, W18, W19, W23)
    gates.StartSupport: gates.start_support,
    support.RecordSession: support.record_session,
    support.RaiseSignal: support.raise_signal,
    support.AcknowledgeSignal: support.acknowledge_signal,
    # evaluation, its outcomes (care level, escalation) and closing (W21, S, TNO)
    evaluation.RecordEvaluation: evaluation.record_evaluation,
    evaluation.CloseTrajectory: evaluation.close_trajectory,
    due.RemindEvaluations: due.reminders,
    # OPP (S), case director and youth care (R)
    care_level.RecordOpp: care_level.record_opp,
    care_level.RecordOppEvaluation: care_level.record_opp_evaluation,
    case_director.SetCaseDirector: case_director.set_case_director,
    case_director.NoteYouthCare: case_director.note_youth_care,
    # Team NO (TNO)
    team_no.Escalate: team_no.escalate,
    team_no.RecordTeamNODecision: team_no.record_decision,
    # the teacher's part and the adviser (C, W16)
    classroom.NotePupilGroup: classroom.note_pupil_group,
    classroom.RecordMeasure: classroom.record_measure,
    classroom.RecordReflection: classroom.record_reflection,
    advisers.InviteAdviser: advisers.invite_adviser,
}


def decide(state: TrajectoryState, issued: Issued[Any], now: datetime) -> list[EventPayload]:
    """The events of ``issued``'s command on ``state``, then a pause or resumption of support
    they cause (W10), then a change of case director (R).

    Raises the rule's :class:`~passend_backbone.commands.Refusal` unchanged.
    """
    rule = RULES.get(type(issued.command))
    if rule is None:
        raise TypeError(f"the trajectory takes no {type(issued.command).__name__}")
    act = Act(issued.actor, now)
    events = rule(state, issued.command, act)
    if not events:
        return []
    paused = pause_follow_up(replay(events, state), act)
    events = [*events, *paused]
    return [*events, *follow_up(replay(events, state), act)]


DECIDER: Decider[TrajectoryState, Issued[Any]] = Decider(
    initial=TrajectoryState(), evolve=evolve, decide=decide
)
