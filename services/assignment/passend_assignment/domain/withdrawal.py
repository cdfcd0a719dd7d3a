"""A request the school withdrew: the case stops being anybody's work (W24-W26)."""

from __future__ import annotations

from passend_assignment.domain.case import CaseState
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import CaseWithdrawn
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestWithdrawn


def note_withdrawal(case: CaseState, withdrawn: RequestWithdrawn) -> list[EventPayload]:
    """W24-W26: intake's ``RequestWithdrawn`` closes the case here once.

    The case leaves the inbox and the work unit's queue (W24, W25) and its contact
    deadline stops (W26: no reminder, no ``ContactDeadlineMissed``). A second delivery of
    the same withdrawal appends nothing.
    """
    if case.withdrawn_at is not None:
        return []
    return [
        CaseWithdrawn(
            case_id=case.case_id,
            receiving_worker_id=case.receiving_worker_id,
            claimed_by=case.claimed_by,
            withdrawn_by=withdrawn.withdrawn_by,
            withdrawn_at=withdrawn.withdrawn_at,
        )
    ]


def require_not_withdrawn(case: CaseState, rule: str) -> None:
    """Refuse acting on a withdrawn request (``rule`` names the rule of the refused act)."""
    if case.withdrawn_at is not None:
        raise Refusal.conflict(
            rule, f"the school withdrew this request on {case.withdrawn_at:%Y-%m-%d}"
        )
