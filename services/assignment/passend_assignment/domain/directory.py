"""An SWV's directory: settings, calendar policy, work units, workers, schools, holidays,
people and Team NO regions.

The directory is one event stream per SWV. Configuring it from a document (a file at
start-up, or the API) compares the document with the current state and emits only what
changed, so loading the same file twice appends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from passend_assignment.domain.directory_doc import SwvDoc
from passend_assignment.domain.people import register_people
from passend_assignment.domain.team_no_regions import configure_regions
from passend_backbone.working_days import WorkingCalendar, calendar_for
from passend_contracts.events.assignment import (
    CalendarPolicy,
    HolidayPeriod,
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


def directory_stream(swv_id: str) -> str:
    """The stream id of an SWV's directory."""
    return f"directory:{swv_id}"


@dataclass(frozen=True)
class DirectoryState:
    """The directory as its events left it; each entry is the last event that set it."""

    settings: SwvConfigured | None = None
    # W26: which days the SWV counts as working days (the defaults until it chose).
    calendar: CalendarPolicy = field(default_factory=CalendarPolicy)
    work_units: dict[str, WorkUnitDefined] = field(default_factory=dict)
    workers: dict[str, SupportWorkerProfiled] = field(default_factory=dict)
    schools: dict[str, SchoolRegistered] = field(default_factory=dict)
    holidays: dict[str, SchoolHolidaysConfigured] = field(default_factory=dict)
    # Everyone ever registered, as last registered; who left, until registered again.
    people: dict[str, PersonRegistered] = field(default_factory=dict)
    departed: dict[str, PersonDeactivated] = field(default_factory=dict)
    # TNO: the Team NO regions, by id.
    regions: dict[str, TeamNoRegionConfigured] = field(default_factory=dict)

    def active_person(self, person_id: str) -> PersonRegistered | None:
        """The person as registered, unless they left (``None`` also when never registered)."""
        if person_id in self.departed:
            return None
        return self.people.get(person_id)

    def left(self, person_id: str) -> bool:
        """Whether the person was registered and left (a never-registered id did not)."""
        return person_id in self.departed

    def school_holidays_of(self, school_id: str) -> tuple[HolidayPeriod, ...]:
        """W26: the school holidays of the school's region (none when unknown)."""
        school = self.schools.get(school_id)
        if school is None or school.holiday_region is None:
            return ()
        configured = self.holidays.get(school.holiday_region)
        return tuple(configured.periods) if configured else ()

    def calendar_of(self, school_id: str) -> WorkingCalendar:
        """W26: the working days of a school: the SWV's calendar policy with the school
        holidays of the school's region (public holidays only for an unknown school)."""
        return calendar_for(self.calendar, self.school_holidays_of(school_id))

    def coordinator_of(self, work_unit_id: str | None) -> str | None:
        unit = self.work_units.get(work_unit_id) if work_unit_id else None
        return unit.coordinator_id if unit else None

    def members_of(self, work_unit_id: str) -> list[SupportWorkerProfiled]:
        """The active workers of a work unit, by id."""
        return sorted(
            (w for w in self.workers.values() if w.work_unit_id == work_unit_id and w.active),
            key=lambda w: w.worker_id,
        )


def evolve(state: DirectoryState, event: EventPayload) -> DirectoryState:
    """The directory after ``event``; events of other kinds leave it as it was."""
    match event:
        case SwvConfigured():
            policy = event.calendar or CalendarPolicy()
            return replace(state, settings=event, calendar=policy)
        case WorkUnitDefined():
            return replace(state, work_units={**state.work_units, event.work_unit_id: event})
        case SupportWorkerProfiled():
            return replace(state, workers={**state.workers, event.worker_id: event})
        case SchoolRegistered():
            return replace(state, schools={**state.schools, event.school_id: event})
        case SchoolHolidaysConfigured():
            return replace(state, holidays={**state.holidays, event.region: event})
        case PersonRegistered():
            departed = {k: v for k, v in state.departed.items() if k != event.person_id}
            return replace(
                state, people={**state.people, event.person_id: event}, departed=departed
            )
        case PersonDeactivated():
            return replace(state, departed={**state.departed, event.person_id: event})
        case TeamNoRegionConfigured():
            return replace(state, regions={**state.regions, event.region: event})
        case _:
            return state


def fold(events: Iterable[EventPayload]) -> DirectoryState:
    state = DirectoryState()
    for event in events:
        state = evolve(state, event)
    return state


def _same(old: EventPayload | None, new: EventPayload, stamp: str) -> bool:
    return old is not None and old.model_dump(exclude={stamp}) == new.model_dump(exclude={stamp})


def configure(state: DirectoryState, doc: SwvDoc, now: datetime) -> list[EventPayload]:
    """The events that make the directory say what ``doc`` says.

    Entries that did not change emit nothing. Workers missing from ``doc`` are made
    inactive (their history stays); work units and schools missing from it are kept, as
    cases may still refer to them. People: see :func:`~passend_assignment.domain.people.
    register_people` (a document without a people list leaves them as they are).
    """
    swv = doc.swv_id
    out: list[EventPayload] = []
    settings = SwvConfigured(
        swv_id=swv,
        name=doc.name,
        education_specialist_id=doc.education_specialist_id,
        route_coach_id=doc.route_coach_id,
        case_hours_per_week=doc.case_hours_per_week,
        expertise_areas=doc.expertise_areas,
        configured_at=now,
        calendar=doc.calendar,
    )
    if not _same(state.settings, settings, "configured_at"):
        out.append(settings)
    for unit in doc.work_units:
        ev = WorkUnitDefined(swv_id=swv, **unit.model_dump(), defined_at=now)
        if not _same(state.work_units.get(unit.work_unit_id), ev, "defined_at"):
            out.append(ev)
    for school in doc.schools:
        sev = SchoolRegistered(swv_id=swv, **school.model_dump(), registered_at=now)
        if not _same(state.schools.get(school.school_id), sev, "registered_at"):
            out.append(sev)
    for region, periods in sorted(doc.school_holidays.items()):
        hev = SchoolHolidaysConfigured(
            swv_id=swv, region=region, periods=periods, configured_at=now
        )
        if not _same(state.holidays.get(region), hev, "configured_at"):
            out.append(hev)
    listed = set()
    for worker in doc.workers:
        listed.add(worker.worker_id)
        wev = SupportWorkerProfiled(swv_id=swv, **worker.model_dump(), profiled_at=now)
        if not _same(state.workers.get(worker.worker_id), wev, "profiled_at"):
            out.append(wev)
    for worker_id, known in sorted(state.workers.items()):
        if worker_id not in listed and known.active:
            gone = known.model_copy(update={"active": False, "profiled_at": now})
            out.append(gone)
    out += register_people(state.people, state.departed, doc, now)
    out += configure_regions(state.regions, doc, now)
    return out
