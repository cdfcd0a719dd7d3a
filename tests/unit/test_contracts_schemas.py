"""The committed schemas, AsyncAPI document and catalogue are current, and no model breaks a
committed event schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pytest
from pydantic import Field

from passend_contracts import generate, topics
from passend_contracts.asyncapi import asyncapi_document
from passend_contracts.catalogue import catalogue
from passend_contracts.compat import breaking_changes
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import SupportLevel
from passend_contracts.examples import example_of
from passend_contracts.generate import (
    ASYNCAPI_DOCUMENT,
    CATALOGUE,
    ENVELOPE_SCHEMA,
    EVENT_SCHEMAS_DIR,
    compare,
    event_schema_path,
    render,
)
from passend_contracts.jsonschemas import envelope_schema, event_schema
from passend_contracts.registry import EVENT_TYPES


@pytest.fixture(scope="module")
def rendered() -> dict[Path, str]:
    """The generated files; each test gets its own copy of the mapping."""
    return render()


@pytest.fixture
def files(rendered) -> dict[Path, str]:
    return dict(rendered)


def test_generated_files_are_current(files):
    report = compare(files)

    assert report.breaking == []
    assert report.missing == [], "run `make schemas`"
    assert report.stale == [], "run `make schemas`"


def test_check_command_passes_on_the_committed_files(capsys):
    assert generate.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "path", sorted(EVENT_SCHEMAS_DIR.glob("*.json")), ids=lambda p: p.name.removesuffix(".json")
)
def test_committed_event_schema_is_not_broken_by_its_model(path):
    event_type = path.name.removesuffix(".json")
    assert event_type in EVENT_TYPES, f"{event_type} has a published schema but no model"

    committed = json.loads(path.read_text(encoding="utf-8"))

    assert breaking_changes(committed, event_schema(EVENT_TYPES[event_type])) == []


def test_committed_envelope_schema_is_not_broken_by_the_envelope():
    committed = json.loads(ENVELOPE_SCHEMA.read_text(encoding="utf-8"))

    assert breaking_changes(committed, envelope_schema()) == []


def test_every_event_has_a_committed_schema_with_id_title_and_meaning():
    for event_type, cls in EVENT_TYPES.items():
        schema = json.loads(event_schema_path(event_type).read_text(encoding="utf-8"))
        assert schema["$id"] == f"urn:passend:event:{event_type}"
        assert schema["title"] == event_type
        assert schema["description"].startswith(cls.meaning)


def test_output_is_deterministic_and_canonical(rendered):
    first, second = rendered, render()

    assert first == second
    for path, text in first.items():
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        if path.suffix == ".json":
            assert generate.dumps(json.loads(text)) == text, path


def test_a_stale_file_is_reported(files):
    files[CATALOGUE] += "changed\n"

    report = compare(files)

    assert report.stale == [CATALOGUE]
    assert report.breaking == []


def test_a_breaking_model_change_is_refused_and_nothing_written(files, monkeypatch, capsys):
    path = event_schema_path("nl.passend.intake.RequestSubmitted.v1")
    schema = json.loads(files[path])
    del schema["properties"]["case_id"]
    schema["required"].remove("case_id")
    files[path] = generate.dumps(schema)
    written: list[object] = []
    monkeypatch.setattr(generate, "render", lambda: files)
    monkeypatch.setattr(generate, "write", lambda *args: written.append(args))

    assert generate.main([]) == 1

    err = capsys.readouterr().err
    assert "RequestSubmitted.v1.json: case_id: field removed" in err
    assert "new version" in err
    assert written == []


def test_a_schema_without_its_event_type_is_reported(files):
    del files[event_schema_path("nl.passend.intake.RequestSubmitted.v1")]

    report = compare(files)

    assert len(report.breaking) == 1
    assert "RequestSubmitted.v1.json: its event type is no longer defined" in report.breaking[0]


def test_missing_files_fail_the_check(files, monkeypatch, tmp_path, capsys):
    files[tmp_path / "missing.json"] = "{}\n"
    monkeypatch.setattr(generate, "render", lambda: files)

    assert generate.main(["--check"]) == 1
    assert "missing: " in capsys.readouterr().err


def test_asyncapi_document_and_catalogue_are_among_the_generated_files(files):
    assert {ASYNCAPI_DOCUMENT, CATALOGUE, ENVELOPE_SCHEMA} <= files.keys()


class _OldNote(EventPayload):
    event_type: ClassVar[str] = "nl.passend.intake.OldNote.v1"
    topic: ClassVar[str] = topics.INTAKE
    meaning: ClassVar[str] = "Test only: a note."
    deprecated: ClassVar[str | None] = "replaced by nl.passend.intake.OldNote.v2 on 2027-01-04"

    text: str = Field(pattern="^[a-z]+$")
    example: ClassVar[dict[str, Any] | None] = {"text": "hello"}


def test_a_deprecation_note_is_published_in_every_document():
    note = "replaced by nl.passend.intake.OldNote.v2 on 2027-01-04"
    event_types = {_OldNote.event_type: _OldNote}

    schema = event_schema(_OldNote)
    message = asyncapi_document(event_types)["components"]["messages"][_OldNote.event_type]

    assert schema["deprecated"] is True
    assert schema["description"].endswith(f"Deprecated: {note}")
    assert message["description"] == f"Deprecated: {note}"
    assert f"**Deprecated:** {note}" in catalogue(event_types)


def test_an_event_without_example_gets_a_valid_minimal_one_in_the_catalogue():
    class Bare(EventPayload):
        event_type: ClassVar[str] = "nl.passend.intake.Bare.v1"
        topic: ClassVar[str] = topics.INTAKE
        meaning: ClassVar[str] = "Test only."

        case_id: UUID
        levels: list[SupportLevel] = Field(min_length=2)
        count: int = Field(gt=3)
        remark: str | None = None

    example = example_of(Bare)

    assert Bare.model_validate(example)
    assert example["count"] == 4
    assert len(example["levels"]) == 2
    assert "Minimal payload (generated)" in catalogue({Bare.event_type: Bare})


def test_an_event_whose_minimal_example_cannot_be_generated_must_bring_one():
    class Patterned(EventPayload):
        event_type: ClassVar[str] = "nl.passend.intake.Patterned.v1"
        topic: ClassVar[str] = topics.INTAKE
        meaning: ClassVar[str] = "Test only."

        code: str = Field(pattern="^[0-9]{4}$")

    with pytest.raises(ValueError, match="generated minimal example does not validate"):
        example_of(Patterned)
