"""Deciding a command: the rule family's events, then the pause (W10) and case director (R)
they imply."""

from __future__ import annotations

from collections.abc import Callable

from passend_contracts.events.base import EventPayload
from passend_trajectory.domain.case_director import follow_up
from passend_trajectory.domain.commands import Act
from passend_trajectory.domain.evolve import replay
from passend_trajectory.domain.gates import pause_follow_up
from passend_trajectory.domain.state import TrajectoryState

Decision = Callable[[TrajectoryState], list[EventPayload]]


def decide(state: TrajectoryState, decision: Decision, act: Act) -> list[EventPayload]:
    """The events of ``decision`` on ``state``, then a pause or resumption of support they
    cause (W10), then a change of case director (R).

    Raises the decision's :class:`~passend_trajectory.domain.refusals.Refusal` unchanged.
    """
    events = decision(state)
    if not events:
        return []
    paused = pause_follow_up(replay(events, state), act)
    events = [*events, *paused]
    return [*events, *follow_up(replay(events, state), act)]
