"""Inviting the school's external adviser to a meeting about the case, with a clear goal (C).

Seed 004 has the external adviser (the Flemish CLB) at meetings on request and at
"knipperlichtmomenten" (warning signs), with parents who are hard to reach, and when the
pupil may move to another level or to special education; "elke partner kan CLB
uitnodigen => met een duidelijk doel". Any partner in the case invites; the invitation
names the adviser and the goal, and the adviser sees it among their invitations.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from passend_backbone.commands import Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import AdviserInvited, InvitationOccasion
from passend_trajectory.domain.commands import Act, Command
from passend_trajectory.domain.guards import require_open
from passend_trajectory.domain.state import TrajectoryState


class InviteAdviser(Command):
    invitation_id: UUID
    adviser_id: str = Field(
        min_length=1, max_length=200, description="The adviser, by the id in their token"
    )
    goal: str = Field(min_length=1, max_length=2000, description="What the meeting is for")
    occasion: InvitationOccasion
    meeting_on: date


def invite_adviser(state: TrajectoryState, cmd: InviteAdviser, act: Act) -> list[EventPayload]:
    """C: a partner invites a named adviser to a meeting on a day to come, with a clear goal;
    each invitation once."""
    require_open(state)
    assert state.case_id is not None
    adviser = cmd.adviser_id.strip()
    if not cmd.goal.strip():
        raise Refusal.invalid("C", "an invitation states a clear goal", field="goal")
    if not adviser or adviser == act.actor:
        raise Refusal.invalid("C", "invite someone other than yourself", field="adviser_id")
    if cmd.meeting_on < act.today:
        raise Refusal.invalid("C", "the meeting lies in the past", field="meeting_on")
    if any(i.invitation_id == cmd.invitation_id for i in state.invitations):
        raise Refusal.conflict("C", f"invitation {cmd.invitation_id} was already sent")
    return [
        AdviserInvited(
            case_id=state.case_id,
            invitation_id=cmd.invitation_id,
            adviser_id=adviser,
            goal=cmd.goal,
            occasion=cmd.occasion,
            meeting_on=cmd.meeting_on,
            invited_by=act.actor,
            invited_at=act.at,
        )
    ]
