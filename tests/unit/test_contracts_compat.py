"""The compatibility checker reports every change that would break consumers and nothing else."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from passend_contracts.compat import breaking_changes
from passend_contracts.generate import event_schema_path

REQUEST_SUBMITTED = "nl.passend.intake.RequestSubmitted.v1"


@pytest.fixture
def committed() -> dict[str, Any]:
    """The published schema of RequestSubmitted, as committed."""
    text = event_schema_path(REQUEST_SUBMITTED).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _changed(schema: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(schema)


# --- deliberately breaking changes to a copy of RequestSubmitted's published schema -----------


def test_unchanged_schema_is_compatible(committed):
    assert breaking_changes(committed, _changed(committed)) == []


def test_removed_field_is_breaking(committed):
    new = _changed(committed)
    del new["properties"]["submitted_at"]
    new["required"].remove("submitted_at")

    assert breaking_changes(committed, new) == [
        "submitted_at: field removed (existing consumers read it)"
    ]


def test_retyped_field_is_breaking(committed):
    new = _changed(committed)
    new["properties"]["submitted_at"] = {"type": "integer", "title": "Submitted At"}

    assert breaking_changes(committed, new) == [
        "submitted_at: type changed from 'string' to 'integer'"
    ]


def test_changed_format_is_breaking(committed):
    new = _changed(committed)
    new["properties"]["submitted_at"]["format"] = "date"

    assert breaking_changes(committed, new) == [
        "submitted_at: format changed from 'date-time' to 'date'"
    ]


def test_optional_field_made_required_is_breaking(committed):
    optional = next(n for n in committed["properties"] if n not in committed["required"])
    new = _changed(committed)
    new["required"].append(optional)

    assert breaking_changes(committed, new) == [
        f"{optional}: optional field became required (stored events may lack it)"
    ]


def test_new_required_field_is_breaking(committed):
    new = _changed(committed)
    new["properties"]["priority"] = {"type": "integer"}
    new["required"].append("priority")

    assert breaking_changes(committed, new) == [
        "priority: new required field without default (stored events lack it)"
    ]


def test_enum_value_removed_behind_a_ref_is_breaking(committed):
    new = _changed(committed)
    levels = new["$defs"]["SupportLevel"]["enum"]
    levels.remove("team")

    assert breaking_changes(committed, new) == [
        'levels[]: enum values removed: "team" (stored events hold them)'
    ]


def test_enum_value_added_is_breaking_for_existing_consumers(committed):
    new = _changed(committed)
    new["$defs"]["SupportLevel"]["enum"].append("school")

    assert breaking_changes(committed, new) == [
        'levels[]: enum values added: "school" (existing consumers reject them)'
    ]


def test_tightened_constraint_is_breaking(committed):
    new = _changed(committed)
    new["properties"]["levels"]["minItems"] = 2

    assert breaking_changes(committed, new) == ["levels: minItems changed from 1 to 2"]


def test_every_break_is_reported_at_once(committed):
    new = _changed(committed)
    del new["properties"]["case_id"]
    new["properties"]["submitted_at"]["type"] = "number"

    assert len(breaking_changes(committed, new)) == 2


# --- compatible changes ------------------------------------------------------------------------


def test_added_optional_field_and_new_annotations_are_compatible(committed):
    new = _changed(committed)
    new["properties"]["remark"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    new["description"] = "Reworded."
    new["properties"]["levels"]["description"] = "Described now."
    new["$defs"]["SupportLevel"]["title"] = "RenamedEnum"
    new["examples"] = []
    new["deprecated"] = True

    assert breaking_changes(committed, new) == []


def test_required_field_gaining_a_default_is_compatible(committed):
    new = _changed(committed)
    new["required"].remove("submitted_at")
    new["properties"]["submitted_at"]["default"] = "2026-01-01T00:00:00Z"

    assert breaking_changes(committed, new) == []


def test_inlined_and_referenced_forms_of_one_type_are_equal(committed):
    new = _changed(committed)
    new["properties"]["levels"]["items"] = copy.deepcopy(committed["$defs"]["SupportLevel"])
    del new["$defs"]["SupportLevel"]

    assert breaking_changes(committed, new) == []


# --- pydantic models, as the contracts write them ----------------------------------------------


class GoalV1(BaseModel):
    goal_id: str


class EvaluationV1(BaseModel):
    care_level: int | None = Field(default=None, ge=1, le=4)
    reason: str | None = None
    outcome: str
    goals: list[GoalV1]


class GoalV2(BaseModel):
    goal_id: int


class EvaluationV2(BaseModel):
    care_level: int = Field(ge=1, le=4)
    reason: str | None = None
    outcome: str | None = None
    goals: list[GoalV2]
    note: str | None = None


def test_pydantic_optional_and_nested_model_changes_are_found():
    problems = breaking_changes(EvaluationV1.model_json_schema(), EvaluationV2.model_json_schema())

    assert problems == [
        "care_level: optional field became required (stored events may lack it)",
        "care_level: no longer accepts null (stored events holding null would not parse)",
        "outcome: may now be null (existing consumers expect a value)",
        "goals[].goal_id: type changed from 'string' to 'integer'",
    ]


def test_pydantic_additive_change_is_compatible():
    class Before(BaseModel):
        goals: list[GoalV1]

    class After(BaseModel):
        goals: list[GoalV1]
        remark: str | None = None
        tags: list[str] = Field(default_factory=list)

    assert breaking_changes(Before.model_json_schema(), After.model_json_schema()) == []


def test_union_members_are_compared_by_kind():
    old = {"properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}
    new = {"properties": {"v": {"anyOf": [{"type": "string"}, {"type": "boolean"}]}}}

    assert breaking_changes(old, new) == [
        "v: type changed from integer | string to boolean | string"
    ]


def test_recursive_models_are_compared_once():
    class Node(BaseModel):
        name: str
        children: list[Node] = Field(default_factory=list)

    schema = Node.model_json_schema()

    assert breaking_changes(schema, copy.deepcopy(schema)) == []


def test_unresolvable_reference_raises_value_error():
    old = {"properties": {"x": {"$ref": "#/$defs/Missing"}}}

    with pytest.raises(ValueError, match="Missing"):
        breaking_changes(old, old)
