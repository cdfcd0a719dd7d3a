"""Escalation to Team NO when the route stagnates, its region, and its decision (TNO)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    StagnationReason,
    TeamNODecisionRecorded,
)
from passend_contracts.municipalities import MunicipalityCode, display_name
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


class Escalate(Command):
    escalation_id: UUID
    municipality: MunicipalityCode = Field(description="CBS code of the pupil's municipality")
    reasons: list[StagnationReason] = Field(min_length=1)
    draft_plan: str = Field(min_length=1, description="The support team's draft plan")
    # Not the caller's to say: the service sets it from the SWV's Team NO regions.
    region: SkipJsonSchema[str | None] = None


def region_required(municipality: str, region: str | None) -> str:
    """TNO: the Team NO region the SWV configured for the pupil's municipality (422 when
    none covers it: the escalation would reach nobody)."""
    if region:
        return region
    raise Refusal.invalid(
        "TNO",
        f"no Team NO region of this SWV covers {municipality} ({display_name(municipality)}): "
        "the SWV's administrator adds the municipality to a region in the directory",
        field="municipality",
    )


def escalate(state: TrajectoryState, cmd: Escalate, act: Act) -> list[EventPayload]:
    """TNO: a stagnating route goes to the Team NO of the pupil's municipality (the region
    the SWV configured for it) with one or more reasons and the support team's draft plan;
    one escalation at a time."""
    require_open(state)
    assert state.case_id is not None
    region = region_required(cmd.municipality, cmd.region)
    if state.open_escalation is not None:
        since = state.open_escalation.escalated.escalated_at.date().isoformat()
        raise Refusal.conflict("TNO", f"the case awaits the Team NO decision since {since}")
    if not cmd.draft_plan.strip():
        raise Refusal.invalid("TNO", "an escalation carries the support team's draft plan")
    return [
        EscalatedToTeamNO(
            case_id=state.case_id,
            escalation_id=cmd.escalation_id,
            municipality=cmd.municipality,
            region=region,
            reasons=sorted(set(cmd.reasons)),
            draft_plan=cmd.draft_plan,
            escalated_by=act.actor,
            escalated_at=act.at,
        )
    ]


class RecordTeamNODecision(Command):
    decision: str = Field(min_length=1)
    assignment: str = Field(min_length=1, description="The assignment Team NO gives")
    provider: str = Field(min_length=1, description="Who delivers the support")


def record_decision(
    state: TrajectoryState, cmd: RecordTeamNODecision, act: Act
) -> list[EventPayload]:
    """TNO: Team NO decides what happens, the assignment and the provider; the case
    continues."""
    require_open(state)
    assert state.case_id is not None
    pending = state.open_escalation
    if pending is None:
        raise Refusal.conflict("TNO", "the case is not escalated to Team NO: nothing to decide")
    return [
        TeamNODecisionRecorded(
            case_id=state.case_id,
            escalation_id=pending.escalated.escalation_id,
            decision=cmd.decision,
            assignment=cmd.assignment,
            provider=cmd.provider,
            decided_by=act.actor,
            decided_at=act.at,
        )
    ]


def decides_in_region(state: TrajectoryState, region: str | None) -> Refusal | None:
    """TNO: a Team NO member decides only on an escalation to their own region's Team NO
    (None: nothing pending, or pending in ``region``)."""
    pending = state.open_escalation
    if pending is None:
        return None
    escalated_to = pending.escalated.region or pending.escalated.municipality
    if escalated_to == region:
        return None
    return Refusal.forbidden("TNO", f"the case is on the agenda of Team NO {escalated_to}")
