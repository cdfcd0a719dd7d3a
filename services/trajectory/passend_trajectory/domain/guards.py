"""Checks every command shares: the trajectory exists and is still open."""

from __future__ import annotations

from passend_backbone.commands import Refusal
from passend_trajectory.domain.state import TrajectoryState


def require_open(state: TrajectoryState) -> None:
    """The trajectory was opened by a claim (W25) and not closed after evaluation (W21)."""
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
