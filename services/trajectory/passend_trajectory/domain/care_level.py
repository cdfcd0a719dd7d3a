"""Care levels 1-4, the OPP and the TLV (S)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import CareLevelChanged, OppEvaluated, OppRecorded
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState

REFERRAL_LEVEL = 4  # S: level 4 is a referral to special (basic) education


def change_care_level(
    state: TrajectoryState, level: int | None, reason: str | None, act: Act
) -> list[EventPayload]:
    """S: an evaluation scales the care level (1-4) with its reason; level 4 means a referral,
    which needs a TLV, and a TLV can only be requested with an OPP on record."""
    assert state.case_id is not None
    if level is None or not 1 <= level <= REFERRAL_LEVEL:
        raise Refusal.invalid("S", "a care level change names the new level, 1 to 4")
    if not (reason and reason.strip()):
        raise Refusal.invalid("S", "a care level change needs its reason")
    if level == state.care_level:
        raise Refusal.conflict("S", f"the care level already is {level}")
    if level == REFERRAL_LEVEL and state.opp is None:
        raise Refusal.conflict(
            "S",
            "care level 4 is a referral that needs a TLV, and a TLV needs an OPP on record: "
            "record the school's OPP first",
        )
    return [
        CareLevelChanged(
            case_id=state.case_id,
            from_level=state.care_level,
            to_level=level,
            reason=reason,
            referral=level == REFERRAL_LEVEL,
            changed_at=act.at,
        )
    ]


MAX_OPP_GOALS = 10


class RecordOpp(Command):
    """The OPP: its date, and (optionally) its parts as the SOP names them."""

    drawn_up_on: date
    starting_point: str | None = Field(default=None, max_length=4000)
    expected_outflow: str | None = Field(default=None, max_length=2000)
    goals: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=MAX_OPP_GOALS
    )
    support: str | None = Field(default=None, max_length=4000)


def _text(value: str | None) -> str | None:
    """Empty text is no text (an OPP form's field left blank)."""
    return value.strip() if value and value.strip() else None


def record_opp(state: TrajectoryState, cmd: RecordOpp, act: Act) -> list[EventPayload]:
    """S: the school's OPP is on record: its date, and its starting point (beginsituatie),
    expected outflow (uitstroomperspectief), goals and support when the school fills them
    in. A new OPP replaces the one before; its evaluations (twice a school year) follow."""
    require_open(state)
    assert state.case_id is not None
    if cmd.drawn_up_on > act.today:
        raise Refusal.invalid("S", "an OPP is recorded once it is drawn up")
    return [
        OppRecorded(
            case_id=state.case_id,
            drawn_up_on=cmd.drawn_up_on,
            recorded_by=act.actor,
            recorded_at=act.at,
            starting_point=_text(cmd.starting_point),
            expected_outflow=_text(cmd.expected_outflow),
            goals=[g.strip() for g in cmd.goals if g.strip()],
            support=_text(cmd.support),
        )
    ]


class RecordOppEvaluation(Command):
    evaluated_on: date
    summary: str = Field(min_length=1)


def record_opp_evaluation(
    state: TrajectoryState, cmd: RecordOppEvaluation, act: Act
) -> list[EventPayload]:
    """S: the OPP is evaluated twice a school year."""
    require_open(state)
    assert state.case_id is not None
    if state.opp is None:
        raise Refusal.conflict("S", "no OPP on record to evaluate")
    if cmd.evaluated_on > act.today or cmd.evaluated_on < state.opp.drawn_up_on:
        raise Refusal.invalid("S", "the OPP evaluation date lies outside the OPP's life so far")
    return [
        OppEvaluated(
            case_id=state.case_id,
            evaluated_on=cmd.evaluated_on,
            summary=cmd.summary,
            recorded_by=act.actor,
            recorded_at=act.at,
        )
    ]
