"""Exploration before the plan: the start conversation and the specialist's analysis."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    SpecialistAnalysisRecorded,
    StartConversationRecorded,
)
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


class RecordStartConversation(Command):
    participants: list[str] = Field(min_length=1)
    sharpened_question: str = Field(min_length=1)
    reformulated_request: str | None = None
    levels: list[SupportLevel] = Field(min_length=1)
    held_on: date
    group: str | None = Field(
        default=None,
        max_length=50,
        description="The pupil's group (class) at the school; its teachers record measures "
        "and reflections (C)",
    )


def record_start_conversation(
    state: TrajectoryState, cmd: RecordStartConversation, act: Act
) -> list[EventPayload]:
    """W6, W7: the start conversation sharpens the question behind the question; the request
    may be reformulated jointly and widen to teacher, group or team (W5, W17). The pupil's
    group, when named, is the one whose teachers work out measures with the support worker
    (C)."""
    require_open(state)
    assert state.case_id is not None
    if state.start_conversation is not None:
        raise Refusal.conflict(
            "W6",
            "the start conversation was already recorded on "
            f"{state.start_conversation.held_on.isoformat()}; sharpen further in the plan",
        )
    if cmd.held_on > act.today:
        raise Refusal.invalid("W6", "the start conversation can't be recorded before it is held")
    return [
        StartConversationRecorded(
            case_id=state.case_id,
            participants=cmd.participants,
            sharpened_question=cmd.sharpened_question,
            reformulated_request=cmd.reformulated_request,
            levels=cmd.levels,
            held_on=cmd.held_on,
            recorded_by=act.actor,
            recorded_at=act.at,
            group=_group(cmd.group),
        )
    ]


class RecordSpecialistAnalysis(Command):
    analysis: str = Field(min_length=1)


def record_specialist_analysis(
    state: TrajectoryState, cmd: RecordSpecialistAnalysis, act: Act
) -> list[EventPayload]:
    """W14: the education specialist's analysis, made with the school, before support starts."""
    require_open(state)
    assert state.case_id is not None
    return [
        SpecialistAnalysisRecorded(
            case_id=state.case_id,
            specialist_id=act.actor,
            analysis=cmd.analysis,
            recorded_at=act.at,
        )
    ]


def _group(name: str | None) -> str | None:
    """The group's name as given, without surrounding blanks; None when blank."""
    cleaned = (name or "").strip()
    return cleaned or None
