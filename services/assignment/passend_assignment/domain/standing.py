"""Whether a support worker may act on cases: the directory as it was when they asked (issue 24)."""

from __future__ import annotations

from passend_assignment.domain.directory import DirectoryState
from passend_backbone.commands import Refusal


def require_standing(directory: DirectoryState, worker_id: str, token_unit: str | None) -> None:
    """W24: only an active support worker of the directory, signed in for their own work
    unit, claims, offers, records first contact or calls in the route coach.

    Refused (403 ``W24``) for a worker the directory does not list, whose profile was made
    inactive, who left the directory as a person, or whose token names another work unit
    than theirs. The refusal names no case, so it is the same for every case id.
    """
    profile = directory.workers.get(worker_id)
    if profile is None or not profile.active or directory.left(worker_id):
        raise Refusal.forbidden(
            "W24",
            f"{worker_id} is no active support worker in the SWV's directory: "
            "ask your work unit's coordinator",
        )
    if token_unit != profile.work_unit_id:
        raise Refusal.forbidden(
            "W24",
            f"you signed in for work unit {token_unit or '(none)'}, the directory places you "
            f"in {profile.work_unit_id}: sign in again or ask your coordinator",
        )
