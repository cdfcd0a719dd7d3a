"""The directory is configured from a document as events; the same document twice adds nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from passend_assignment.directory_file import load_directory_file
from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.directory_doc import SwvDoc, WorkerDoc
from passend_contracts.events.assignment import SupportWorkerProfiled

from .factories import NOW

DEV_FILE = Path(__file__).parents[3] / "services/assignment/passend_assignment/dev_directory.yaml"


def _doc() -> SwvDoc:
    return load_directory_file(DEV_FILE)[0]


def test_dev_directory_describes_a_whole_swv() -> None:
    doc = _doc()
    assert doc.education_specialist_id
    assert doc.route_coach_id
    assert len(doc.work_units) >= 2
    units = {u.work_unit_id for u in doc.work_units}
    assert all(w.work_unit_id in units for w in doc.workers)
    schools = {s.school_id for s in doc.schools}
    assert all(set(w.known_schools) <= schools for w in doc.workers)
    areas = {a.area_id for a in doc.expertise_areas}
    assert all(set(w.expertise) <= areas for w in doc.workers)


def test_configuring_twice_appends_nothing_the_second_time() -> None:
    doc = _doc()
    first = configure(DirectoryState(), doc, NOW)
    assert first
    state = fold(first)
    assert configure(state, doc, NOW + timedelta(days=1)) == []
    region = doc.schools[0].holiday_region
    assert region is not None
    assert state.school_holidays_of(doc.schools[0].school_id)
    assert all(
        p.first_day <= p.last_day for p in state.school_holidays_of(doc.schools[0].school_id)
    )


def test_a_changed_worker_emits_one_event_and_a_removed_one_is_made_inactive() -> None:
    doc = _doc()
    state = fold(configure(DirectoryState(), doc, NOW))
    first, second, *rest = doc.workers
    changed = WorkerDoc(**{**first.model_dump(), "weekly_case_hours": first.weekly_case_hours + 4})
    new_doc = doc.model_copy(update={"workers": [changed, *rest]})
    events = configure(state, new_doc, NOW)
    assert len(events) == 2
    by_worker = {e.worker_id: e for e in events if isinstance(e, SupportWorkerProfiled)}
    assert by_worker[first.worker_id].weekly_case_hours == first.weekly_case_hours + 4
    assert by_worker[second.worker_id].active is False
    after = fold([*configure(DirectoryState(), doc, NOW), *events])
    assert second.worker_id not in {w.worker_id for w in after.members_of(second.work_unit_id)}
