"""Configuring the directory from any document, then another, converges; repeating adds nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.directory_doc import SchoolDoc, SwvDoc, WorkerDoc, WorkUnitDoc

from .factories import NOW

IDS = st.sampled_from(["a", "b", "c", "d"])
workers = st.lists(
    st.builds(
        WorkerDoc,
        worker_id=IDS,
        work_unit_id=st.sampled_from(["wu-1", "wu-2"]),
        expertise=st.lists(st.sampled_from(["reading", "maths"]), unique=True),
        weekly_case_hours=st.integers(0, 32).map(float),
        known_schools=st.lists(st.sampled_from(["s-1", "s-2"]), unique=True),
    ),
    unique_by=lambda w: w.worker_id,
)
docs = st.builds(
    SwvDoc,
    swv_id=st.just("swv"),
    name=st.sampled_from(["Noord", "Zuid"]),
    education_specialist_id=st.sampled_from([None, "os-1"]),
    case_hours_per_week=st.sampled_from([1.5, 2.0]),
    work_units=st.just([WorkUnitDoc(work_unit_id="wu-1", name="Een")]),
    workers=workers,
    schools=st.lists(
        st.builds(SchoolDoc, school_id=IDS, name=st.just("School"), municipality=st.just("GM0622")),
        unique_by=lambda s: s.school_id,
    ),
)


@settings(max_examples=150, deadline=None)
@given(docs, docs)
def test_configure_converges_on_the_latest_document(first: SwvDoc, second: SwvDoc) -> None:
    history = configure(DirectoryState(), first, NOW)
    state = fold(history)
    assert configure(state, first, NOW) == []
    history += configure(state, second, NOW)
    state = fold(history)
    assert configure(state, second, NOW) == []
    active = {w.worker_id for w in state.workers.values() if w.active}
    assert active == {w.worker_id for w in second.workers}
    assert state.settings is not None
    assert state.settings.name == second.name
