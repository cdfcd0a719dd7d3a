"""Every registered event is well named and valid by its own example; parsing upcasts old
versions and tolerates fields added by newer producers."""

from __future__ import annotations

import copy
import json
import types
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

import jsonschema  # type: ignore[import-untyped]  # no stubs installed (types-jsonschema)
import pytest

from passend_contracts import registry, topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import EvaluationRecorded
from passend_contracts.examples import example_of
from passend_contracts.generate import event_schema_path
from passend_contracts.registry import (
    EVENT_TYPE_PATTERN,
    EVENT_TYPES,
    UnknownEventType,
    parse,
    parse_data,
    upcast,
)

REQUIRED_EVENTS = (
    "nl.passend.intake.RequestSubmitted.v1",
    "nl.passend.intake.ConsentConfirmed.v1",
    "nl.passend.assignment.CaseClaimed.v1",
    "nl.passend.trajectory.EvaluationRecorded.v1",
    "nl.passend.trajectory.EscalatedToTeamNO.v1",
)


def _envelope(event_type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        source="/passend/test",
        type=event_type,
        subject=str(data.get("case_id", "none")),
        time=datetime(2026, 9, 14, 8, 30, tzinfo=UTC),
        swv="swv-2801",
        correlationid="corr-1",
        causationid="cmd-1",
        actor="ib-7731",
        streamversion=1,
        position=1,
        data=data,
    )


def test_the_issues_events_are_registered():
    assert set(REQUIRED_EVENTS) <= EVENT_TYPES.keys()


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_event_is_well_formed(event_type):
    cls = EVENT_TYPES[event_type]

    assert cls.event_type == event_type
    assert EVENT_TYPE_PATTERN.match(event_type), "type names carry a version: ...Name.vN"
    assert event_type.split(".")[2] == cls.topic.split(".")[1], "a service's events, its topic"
    assert cls.topic in topics.ALL
    assert cls.meaning.strip()
    assert cls.model_config.get("frozen") is True
    assert cls.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_event_validates_its_own_example(event_type):
    cls = EVENT_TYPES[event_type]
    example = example_of(cls)
    committed = json.loads(event_schema_path(event_type).read_text(encoding="utf-8"))

    payload = cls.model_validate(example)
    jsonschema.Draft202012Validator(
        committed, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(example)
    assert payload.model_dump(mode="json") == example
    assert parse(_envelope(event_type, example)) == payload


def test_an_invalid_example_is_reported_with_what_to_do():
    class Broken(EventPayload):
        event_type: ClassVar[str] = "nl.passend.test.Broken.v1"
        topic: ClassVar[str] = topics.INTAKE
        meaning: ClassVar[str] = "Test only."
        example: ClassVar[dict[str, Any] | None] = {"count": "many"}

        count: int

    with pytest.raises(ValueError, match=r"Broken.v1: its example does not validate.*`example`"):
        example_of(Broken)


def test_parse_ignores_fields_added_by_newer_producers_at_any_depth():
    data = copy.deepcopy(example_of(EvaluationRecorded))
    expected = EvaluationRecorded.model_validate(data)
    data["added_in_a_later_release"] = {"anything": 1}
    data["goal_results"] = [{**g, "added_later_too": True} for g in data["goal_results"]]
    assert data["goal_results"], "the example must have a nested model to prove this"

    assert parse(_envelope(EvaluationRecorded.event_type, data)) == expected


def test_producing_with_an_unknown_field_is_refused():
    data = {**example_of(EvaluationRecorded), "typo_field": 1}

    with pytest.raises(ValueError, match="typo_field"):
        EvaluationRecorded.model_validate(data)


def test_parse_of_an_unknown_type_says_so():
    with pytest.raises(UnknownEventType, match=r"nl\.passend\.intake\.Future\.v1"):
        parse(_envelope("nl.passend.intake.Future.v1", {}))


def test_parse_of_invalid_data_raises_value_error():
    data = {**example_of(EvaluationRecorded), "case_id": "not-a-uuid"}

    with pytest.raises(ValueError, match="case_id"):
        parse(_envelope(EvaluationRecorded.event_type, data))


# --- upcasting, with test-only event versions -------------------------------------------------


class NoteV1(EventPayload):
    event_type: ClassVar[str] = "nl.passend.test.Note.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "Test only: a note with one text."
    deprecated: ClassVar[str | None] = "replaced by nl.passend.test.Note.v2"

    case_id: UUID
    text: str


class NoteV2(EventPayload):
    event_type: ClassVar[str] = "nl.passend.test.Note.v2"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "Test only: a note with lines."
    deprecated: ClassVar[str | None] = "replaced by nl.passend.test.Note.v3"

    case_id: UUID
    lines: list[str]


class NoteV3(EventPayload):
    event_type: ClassVar[str] = "nl.passend.test.Note.v3"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "Test only: a note with lines and an author."

    case_id: UUID
    lines: list[str]
    author: str | None = None


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": data["case_id"], "lines": data["text"].splitlines()}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "author": None}


@pytest.fixture
def note_versions(monkeypatch):
    event_types = {**EVENT_TYPES, **{c.event_type: c for c in (NoteV1, NoteV2, NoteV3)}}
    upcasters = {
        NoteV1.event_type: (NoteV2.event_type, _v1_to_v2),
        NoteV2.event_type: (NoteV3.event_type, _v2_to_v3),
    }
    monkeypatch.setattr(registry, "EVENT_TYPES", event_types)
    monkeypatch.setattr(registry, "UPCASTERS", upcasters)
    return upcasters


def test_old_versions_are_upcast_on_read_through_the_whole_chain(note_versions):
    case_id = uuid4()
    stored = {"case_id": str(case_id), "text": "first\nsecond", "added_later": 1}

    payload = parse(_envelope(NoteV1.event_type, stored))

    assert payload == NoteV3(case_id=case_id, lines=["first", "second"], author=None)
    assert stored == {"case_id": str(case_id), "text": "first\nsecond", "added_later": 1}


def test_the_newest_version_is_parsed_as_is(note_versions):
    case_id = uuid4()

    payload = parse_data(NoteV3.event_type, {"case_id": str(case_id), "lines": [], "author": "x"})

    assert payload == NoteV3(case_id=case_id, lines=[], author="x")


def test_upcast_without_upcaster_returns_the_input(note_versions):
    data = {"a": 1}

    assert upcast("nl.passend.test.Other.v1", data) == ("nl.passend.test.Other.v1", data)


def test_upcasters_that_form_a_cycle_are_refused(note_versions):
    note_versions[NoteV3.event_type] = (NoteV1.event_type, lambda d: d)

    with pytest.raises(ValueError, match="cycle"):
        upcast(NoteV1.event_type, {"case_id": str(uuid4()), "text": ""})


def test_upcast_to_an_unregistered_type_names_both(monkeypatch):
    monkeypatch.setattr(
        registry, "UPCASTERS", {NoteV1.event_type: ("nl.passend.test.Gone.v9", _v1_to_v2)}
    )

    with pytest.raises(UnknownEventType, match=r"Gone\.v9.*upcast from.*Note\.v1"):
        parse_data(NoteV1.event_type, {"case_id": str(uuid4()), "text": ""})


def _upcaster_problems(upcasters, event_types) -> list[str]:
    problems = []
    for old in upcasters:
        current, seen = old, {old}
        while current in upcasters and len(seen) <= len(upcasters):
            current = upcasters[current][0]
            seen.add(current)
        if current not in event_types:
            problems.append(f"{old} upcasts to unregistered {current}")
        if old in event_types and not event_types[old].deprecated:
            problems.append(f"{old} is upcast but not marked deprecated")
    return problems


def test_registered_upcasters_lead_to_registered_types_from_deprecated_ones():
    assert _upcaster_problems(registry.UPCASTERS, EVENT_TYPES) == []


def test_upcaster_check_finds_a_bad_registration(note_versions):
    bad = {**note_versions, NoteV3.event_type: ("nl.passend.test.Gone.v4", _v2_to_v3)}

    assert _upcaster_problems(bad, registry.EVENT_TYPES) == [
        "nl.passend.test.Note.v1 upcasts to unregistered nl.passend.test.Gone.v4",
        "nl.passend.test.Note.v2 upcasts to unregistered nl.passend.test.Gone.v4",
        "nl.passend.test.Note.v3 upcasts to unregistered nl.passend.test.Gone.v4",
        "nl.passend.test.Note.v3 is upcast but not marked deprecated",
    ]


def test_two_classes_claiming_one_type_are_refused(monkeypatch):
    module = types.ModuleType("passend_contracts.events.fake")
    for name in ("First", "Second"):
        cls = type(
            name,
            (EventPayload,),
            {
                "__module__": module.__name__,
                "__annotations__": {"event_type": ClassVar[str]},
                "event_type": "nl.passend.fake.Same.v1",
                "topic": topics.INTAKE,
                "meaning": "Test only.",
            },
        )
        setattr(module, name, cls)
    monkeypatch.setattr(registry, "EVENT_MODULES", (module,))

    with pytest.raises(TypeError, match="Second and First both claim"):
        registry._collect()
