"""Checks every command shares: the trajectory exists, and neither ended nor withdrawn."""

from __future__ import annotations

from passend_backbone.commands import Refusal
from passend_trajectory.domain.state import TrajectoryState


def refuse_if_withdrawn(state: TrajectoryState) -> None:
    """W1: the school's request is the condition for the support worker's work; once the
    school withdrew it, the trajectory takes no further step (409, naming the date)."""
    if state.withdrawn is not None:
        raise Refusal.conflict(
            "W1",
            f"the school withdrew the request on {state.withdrawn.withdrawn_at.date().isoformat()}"
            ": the trajectory ended with it and takes no further step",
        )


def require_open(state: TrajectoryState) -> None:
    """The request was not withdrawn (W1), the trajectory was opened by a claim (W25) and
    not closed after evaluation (W21)."""
    refuse_if_withdrawn(state)
    if state.opened is None:
        raise Refusal.not_found(
            "W25", "no trajectory for this case: it opens once a support worker claims the case"
        )
    if state.closed is not None:
        raise Refusal.conflict(
            "W21",
            f"the trajectory was closed on {state.closed.closed_at.date().isoformat()} "
            "after its final evaluation: nothing can be added",
        )
