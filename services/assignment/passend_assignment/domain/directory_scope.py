"""Who may change which part of an SWV's directory (issue 24).

The SWV's administrator (and the operator who runs Passend for it) changes the whole
directory. A work unit's coordinator changes only their own unit: its support workers
and its people, who may only be given or lose the support worker role. Whatever else a
coordinator's document would change is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from passend_assignment.domain.directory import DirectoryState
from passend_backbone.auth import Role
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import (
    PersonDeactivated,
    PersonRegistered,
    SchoolHolidaysConfigured,
    SchoolRegistered,
    SupportWorkerProfiled,
    SwvConfigured,
    TeamNoRegionConfigured,
    WorkUnitDefined,
)
from passend_contracts.events.base import EventPayload

# The roles a unit's coordinator gives and takes within their unit.
UNIT_ROLES = frozenset({Role.SUPPORT_WORKER.value})


@dataclass(frozen=True)
class Scope:
    """What a caller may change: the whole SWV (``work_unit_id`` None) or one work unit."""

    work_unit_id: str | None = None
    coordinator_id: str | None = None  # who claims to coordinate it (the token's subject)

    @property
    def whole(self) -> bool:
        return self.work_unit_id is None


WHOLE_SWV = Scope()


def require_coordinator(state: DirectoryState, scope: Scope) -> None:
    """A unit's scope is its coordinator's: as the work unit names them, or as a person
    with the coordinator role placed in it (403 ``directory`` otherwise)."""
    if scope.whole:
        return
    unit = state.work_units.get(scope.work_unit_id or "")
    named = unit is not None and unit.coordinator_id == scope.coordinator_id
    person = state.active_person(scope.coordinator_id or "")
    placed = (
        person is not None
        and Role.COORDINATOR.value in person.roles
        and person.work_unit_id == scope.work_unit_id
    )
    if not (named or placed):
        raise Refusal.forbidden(
            "directory",
            f"the directory does not name {scope.coordinator_id} coordinator of "
            f"{scope.work_unit_id}: ask the SWV's administrator",
        )


def _roles_changed(old: Iterable[str], new: Iterable[str]) -> bool:
    """Whether roles other than a unit's own were given or taken."""
    return bool((set(old) ^ set(new)) - UNIT_ROLES)


def _outside(state: DirectoryState, event: EventPayload, unit: str) -> str | None:
    """What ``event`` changes outside work unit ``unit``, for a person to read; or None."""
    match event:
        case SwvConfigured():
            return "the SWV's settings"
        case WorkUnitDefined():
            return f"work unit {event.work_unit_id}"
        case SchoolRegistered():
            return f"school {event.school_id}"
        case SchoolHolidaysConfigured():
            return f"the school holidays of {event.region}"
        case TeamNoRegionConfigured():
            return f"Team NO region {event.region}"
        case SupportWorkerProfiled():
            before = state.workers.get(event.worker_id)
            if event.work_unit_id != unit or (before and before.work_unit_id != unit):
                return f"worker {event.worker_id}"
            return None
        case PersonRegistered():
            old = state.people.get(event.person_id)
            if event.work_unit_id != unit or (old is not None and old.work_unit_id != unit):
                return f"person {event.person_id}"
            if _roles_changed(old.roles if old else (), event.roles):
                return f"the roles of {event.person_id}"
            return None
        case PersonDeactivated():
            old = state.people.get(event.person_id)
            if old is None or old.work_unit_id != unit:
                return f"person {event.person_id}"
            if _roles_changed(old.roles, ()):
                return f"the roles of {event.person_id}"
            return None
        case _:
            # Named for a person, never by an internal event name (issue 24).
            return "other parts of the directory"


def require_within(state: DirectoryState, events: Iterable[EventPayload], scope: Scope) -> None:
    """A unit coordinator's changes stay in their unit (403 ``directory`` naming the rest)."""
    if scope.whole:
        return
    unit = scope.work_unit_id or ""
    outside = [what for e in events if (what := _outside(state, e, unit)) is not None]
    if outside:
        raise Refusal.forbidden(
            "directory",
            f"you coordinate {unit}; this document also changes {', '.join(outside)}: "
            "ask the SWV's administrator",
        )
