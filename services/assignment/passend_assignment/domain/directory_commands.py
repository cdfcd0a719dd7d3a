"""The command on an SWV's directory stream and the decider that answers it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from passend_assignment.domain.directory import DirectoryState, configure, evolve
from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.directory_scope import (
    WHOLE_SWV,
    Scope,
    require_coordinator,
    require_within,
)
from passend_assignment.domain.handover import HandOver, leaving_workers, plan_hand_overs
from passend_assignment.domain.people import require_known_places
from passend_assignment.domain.team_no_regions import require_consistent_regions
from passend_backbone.commands import Decider, Refusal
from passend_contracts.events.base import EventPayload


@dataclass(frozen=True)
class ConfigureDirectory:
    """Make the directory say what ``doc`` says (the dev file at start, ``PUT /directory``).

    ``scope``: what the caller may change; ``responsible``: the worker responsible now
    for each open case of the workers ``doc`` removes and of each case it hands over,
    read in the command's transaction (W25).
    """

    doc: SwvDoc
    scope: Scope = WHOLE_SWV
    responsible: Mapping[UUID, str] = field(default_factory=dict)


def _applied(state: DirectoryState, events: list[EventPayload]) -> DirectoryState:
    for event in events:
        state = evolve(state, event)
    return state


def changes(
    state: DirectoryState, command: ConfigureDirectory, now: datetime
) -> tuple[list[EventPayload], list[HandOver]]:
    """The directory's events and the cases handed over, or the refusal (issue 24).

    A unit's coordinator must be its coordinator and change nothing outside the unit
    (403 ``directory``); people are placed in work units and schools the directory knows
    (422); Team NO regions and their members agree (422 ``TNO``); W25: the open cases of
    workers who leave are handed over (409 otherwise).
    """
    doc = command.doc
    require_coordinator(state, command.scope)
    events = configure(state, doc, now)
    after = _applied(state, events)
    require_known_places(doc, set(after.work_units), set(after.schools))
    if events:
        active = {p for p in after.people if p not in after.departed}
        require_consistent_regions(after.regions, after.people, active)
    require_within(state, events, command.scope)
    plan = plan_hand_overs(
        after,
        leaving_workers(state, doc),
        command.responsible,
        doc.hand_over,
        command.scope.work_unit_id,
    )
    return events, plan


def decide(
    state: DirectoryState, command: ConfigureDirectory, now: datetime
) -> list[EventPayload] | Refusal:
    """Only what changed becomes events: the same document twice appends nothing. The
    hand-overs are appended to their cases' streams in the same transaction (see
    :func:`changes`)."""
    match command:
        case ConfigureDirectory():
            events, _plan = changes(state, command, now)
            return events


# The rules of an SWV's directory stream (``directory:<swv_id>``).
DIRECTORY_DECIDER: Decider[DirectoryState, ConfigureDirectory] = Decider(
    initial=DirectoryState(), evolve=evolve, decide=decide
)
