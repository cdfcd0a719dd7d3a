"""First contact with the IB within one working week: recording it, reminding, and lapsing (W26)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from passend_assignment.domain.case import CaseState
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import (
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    FirstContactRecorded,
)
from passend_contracts.events.base import EventPayload


class TimerKind(StrEnum):
    """The two durable timers of a case's contact deadline."""

    REMINDER = "reminder"
    LAPSE = "lapse"


def timers_of(case: CaseState) -> dict[TimerKind, datetime]:
    """W26: when each timer of the case fires (none once first contact is recorded)."""
    if not case.clock_running or case.contact_due_at is None:
        return {}
    timers = {TimerKind.LAPSE: case.contact_due_at}
    if case.remind_at is not None:
        timers[TimerKind.REMINDER] = case.remind_at
    return timers


def record_first_contact(
    case: CaseState, worker_id: str, contacted_at: datetime, now: datetime
) -> list[EventPayload]:
    """W26: the claiming worker records contacting the IB; the clock stops."""
    if case.claimed_by is None:
        raise Refusal.conflict("W26", "claim the case before recording first contact")
    if worker_id != case.claimed_by:
        raise Refusal.forbidden(
            "W26", f"first contact is recorded by {case.claimed_by}, who claimed it"
        )
    if case.first_contact_at is not None:
        raise Refusal.conflict(
            "W26", f"first contact was already recorded on {case.first_contact_at:%Y-%m-%d}"
        )
    if contacted_at > now:
        raise Refusal.conflict(
            "W26", "contacted_at lies in the future: record contact once it happened"
        )
    if case.submitted_at is not None and contacted_at < case.submitted_at:
        raise Refusal.conflict("W26", "contacted_at lies before the request was submitted")
    due = case.contact_due_at
    return [
        FirstContactRecorded(
            case_id=case.case_id,
            worker_id=worker_id,
            ib_id=case.ib_id,
            contacted_at=contacted_at,
            within_deadline=due is None or contacted_at < due,
            recorded_at=now,
        )
    ]


def fire(
    case: CaseState, kind: TimerKind, coordinator_id: str | None, now: datetime
) -> list[EventPayload]:
    """W26: what a due timer raises: a reminder, or once lapsed a ``ContactDeadlineMissed``.

    Nothing when first contact was recorded meanwhile, when it already fired (a timer
    may fire twice after a crash), or when it is not due yet.
    """
    due = timers_of(case).get(kind)
    if due is None or now < due or case.contact_due_at is None:
        return []
    if kind is TimerKind.REMINDER:
        if case.reminded or case.missed:
            return []
        return [
            ContactDeadlineApproaching(
                case_id=case.case_id,
                responsible_worker_id=case.responsible_worker_id,
                due_at=case.contact_due_at,
                raised_at=now,
            )
        ]
    if case.missed:
        return []
    return [
        ContactDeadlineMissed(
            case_id=case.case_id,
            receiving_worker_id=case.receiving_worker_id,
            claimed_by=case.claimed_by,
            coordinator_id=coordinator_id,
            due_at=case.contact_due_at,
            missed_at=now,
        )
    ]
