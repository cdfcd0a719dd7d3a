"""The commands on a case's stream and the one decider that answers them (W14, W24-W26, W29).

Users claim, offer, record first contact and call in the route coach; the routing reactor
routes a submission and notes a withdrawal; the scheduler fires the contact timers; a
directory change hands the cases of a leaving worker over. Each
is a frozen command, and :func:`decide` dispatches it to the rule that decides it. What a
rule needs from outside the case (the SWV's directory) is read in the command's own
transaction and passed in the command, so deciding stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from passend_assignment.domain.case import CaseState, evolve
from passend_assignment.domain.coaching import Side, call_route_coach
from passend_assignment.domain.contact import TimerKind, fire, record_first_contact
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.handover import HandOver, hand_over_case
from passend_assignment.domain.routing import claim, offer, route_request
from passend_assignment.domain.withdrawal import note_withdrawal
from passend_backbone.commands import Decider, Refusal
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestSubmitted, RequestWithdrawn


@dataclass(frozen=True)
class RouteRequest:
    """W24: route intake's submission, with the SWV's directory as the reactor read it."""

    request: RequestSubmitted
    swv_id: str
    directory: DirectoryState


@dataclass(frozen=True)
class Claim:
    """W25: a worker claims the case (``worker_unit``: the claimer's own work unit)."""

    worker_id: str
    worker_unit: str | None


@dataclass(frozen=True)
class Offer:
    """W24, W25: the receiving worker offers the case to a work unit's queue."""

    by: str
    work_unit_id: str | None  # asked for; else the case's work unit, else ``own_unit``
    own_unit: str | None
    need_areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordFirstContact:
    """W26: the claiming worker contacted the IB at ``contacted_at``."""

    worker_id: str
    contacted_at: datetime


@dataclass(frozen=True)
class CallRouteCoach:
    """W29: one side calls in the SWV's route coach (read from its directory)."""

    caller_id: str
    side: Side
    caller_school: str | None
    reason: str
    route_coach_id: str | None


@dataclass(frozen=True)
class NoteWithdrawal:
    """W24-W26: intake's withdrawal of the request, seen by the tenant ``swv_id``."""

    withdrawn: RequestWithdrawn
    swv_id: str


@dataclass(frozen=True)
class FireTimer:
    """W26: a contact timer of tenant ``swv_id`` is due; its directory names the coordinator."""

    kind: TimerKind
    swv_id: str
    directory: DirectoryState


@dataclass(frozen=True)
class HandOverCase:
    """W25: a directory change of tenant ``swv_id`` hands the case to another worker."""

    step: HandOver
    swv_id: str


CaseCommand = (
    RouteRequest
    | Claim
    | Offer
    | RecordFirstContact
    | CallRouteCoach
    | NoteWithdrawal
    | FireTimer
    | HandOverCase
)


def _unknown() -> Refusal:
    return Refusal.not_found("tenant", "case not found: no request was routed here under this id")


def decide(
    state: CaseState | None, command: CaseCommand, now: datetime
) -> list[EventPayload] | Refusal:
    """The events ``command`` causes on the case, or why it is refused.

    Every command but routing needs a routed case of the command's own SWV; another
    SWV's case answers as an unknown one. W24: a case is routed once, so a second
    submission under a routed case's id leaves the case as it was routed.
    """
    if isinstance(command, RouteRequest):
        if state is not None:
            return []
        return route_request(command.request, command.swv_id, command.directory, now)
    if state is None:
        return _unknown()
    match command:
        case Claim():
            return claim(state, command.worker_id, command.worker_unit, now)
        case Offer():
            unit = command.work_unit_id or state.work_unit_id or command.own_unit
            return offer(state, command.by, unit, command.need_areas, now)
        case RecordFirstContact():
            return record_first_contact(state, command.worker_id, command.contacted_at, now)
        case CallRouteCoach():
            return call_route_coach(
                state,
                command.caller_id,
                command.side,
                command.caller_school,
                command.reason,
                command.route_coach_id,
                now,
            )
        case NoteWithdrawal():
            if state.swv_id != command.swv_id:
                return _unknown()
            return note_withdrawal(state, command.withdrawn)
        case FireTimer():
            if state.swv_id != command.swv_id:
                return _unknown()
            coordinator = command.directory.coordinator_of(state.work_unit_id)
            return fire(state, command.kind, coordinator, now)
        case HandOverCase():
            if state.swv_id != command.swv_id:
                return _unknown()
            return hand_over_case(state, command.step, now)


# The rules of a case's stream (``str(case_id)``): unrouted (``None``) until routed.
CASE_DECIDER: Decider[CaseState | None, CaseCommand] = Decider(
    initial=None, evolve=evolve, decide=decide
)
