"""Submitting a request follows W2-W5 and W24 and never puts identifiers in the clear."""

from __future__ import annotations

import json

import pytest

from passend_contracts.events.intake import RequestSubmitted, SupportLevel
from passend_intake.domain.request import RequestedLevel, submit
from passend_intake.domain.state import CaseState, RequestStatus, fold
from tests.unit.intake.builders import NOW, SEALED, conflict, invalid, submission, submitted


def test_a_request_about_the_pupil_is_submitted() -> None:
    (event,) = submit(CaseState(), submission(), NOW)
    assert isinstance(event, RequestSubmitted)
    assert event.levels == [SupportLevel.PUPIL]
    assert event.submitted_at == NOW
    assert event.encrypted_identity == SEALED
    state = fold([event])
    assert state.status is RequestStatus.SUBMITTED
    assert state.version == 1


def test_w5_system_guidance_of_the_school_organisation_is_refused_with_the_reason() -> None:
    cmd = submission(levels=(RequestedLevel.PUPIL, RequestedLevel.SCHOOL_ORGANISATION))
    with invalid() as refused:
        submit(CaseState(), cmd, NOW)
    assert refused.value.rule == "W5"
    assert refused.value.field == "levels"
    assert "school organisation" in refused.value.message


@pytest.mark.parametrize(
    "levels",
    [
        (RequestedLevel.TEACHER,),
        (RequestedLevel.PUPIL, RequestedLevel.GROUP),
        (RequestedLevel.TEAM,),
    ],
)
def test_w5_a_request_starts_at_pupil_level(levels: tuple[RequestedLevel, ...]) -> None:
    with invalid() as refused:
        submit(CaseState(), submission(levels=levels), NOW)
    assert (refused.value.rule, refused.value.field) == ("W5", "levels")


def test_w5_a_level_named_twice_is_invalid() -> None:
    with invalid() as refused:
        submit(CaseState(), submission(levels=(RequestedLevel.PUPIL,) * 2), NOW)
    assert refused.value.field == "levels"


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("why_stuck", "W4"),
        ("educational_need", "W2"),
        ("tried_in_basic_support", "B"),
        ("addressed_worker_id", "W24"),
    ],
)
def test_blank_required_text_names_field_and_rule(field: str, rule: str) -> None:
    with invalid() as refused:
        submit(CaseState(), submission(**{field: "   "}), NOW)
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_a_case_is_submitted_once() -> None:
    with conflict():
        submit(submitted(), submission(), NOW)


def test_the_event_carries_no_direct_identifiers() -> None:
    (event,) = submit(CaseState(), submission(), NOW)
    fields = set(json.loads(event.model_dump_json()))
    assert not fields & {"name", "pupil_name", "date_of_birth", "email", "phone", "parents"}
