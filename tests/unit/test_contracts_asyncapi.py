"""The generated AsyncAPI document is valid AsyncAPI 3.0.0 and describes every event truly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import jsonschema  # type: ignore[import-untyped]  # no stubs installed (types-jsonschema)
import pytest

from passend_contracts import topics
from passend_contracts.asyncapi import asyncapi_document
from passend_contracts.envelope import CloudEvent
from passend_contracts.examples import example_of
from passend_contracts.generate import ASYNCAPI_DOCUMENT, SCHEMAS_DIR
from passend_contracts.registry import EVENT_TYPES

# schemas/3.0.0.json of the npm package @asyncapi/specs 6.11.1 (see vendor/README.md).
ASYNCAPI_SCHEMA = SCHEMAS_DIR / "vendor" / "asyncapi-3.0.0.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ASYNCAPI_DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def asyncapi_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def _payload_validator(document: dict[str, Any], name: str) -> jsonschema.Draft7Validator:
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft7Validator(
        root, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def test_committed_document_is_the_generated_one(document):
    assert document == asyncapi_document(EVENT_TYPES)


def test_document_is_valid_asyncapi_3(document, asyncapi_validator):
    errors = [f"{e.json_path}: {e.message}" for e in asyncapi_validator.iter_errors(document)]

    assert errors == []
    assert document["asyncapi"] == "3.0.0"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("operations", "publish.intake", "action"), "publish"),
        (("channels", topics.INTAKE, "address"), 42),
        (("info", "title"), None),
    ],
)
def test_the_validator_rejects_an_invalid_document(document, asyncapi_validator, where, value):
    broken = copy.deepcopy(document)
    node = broken
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value

    assert next(asyncapi_validator.iter_errors(broken), None) is not None


def test_every_topic_is_a_channel_with_its_address(document):
    outside = {"integration", "integrationThin", "deadLetters"}  # parameterised addresses
    assert sorted(set(document["channels"]) - outside) == sorted(topics.ALL)
    for topic in topics.ALL:
        channel = document["channels"][topic]
        assert channel["address"] == topic
        assert channel["bindings"]["kafka"]["partitions"] == topics.PARTITIONS


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_is_a_message_on_its_topic_whose_payload_and_headers_fit(document, event_type):
    cls = EVENT_TYPES[event_type]
    channel = document["channels"][cls.topic]
    message = document["components"]["messages"][event_type]
    example = example_of(cls)
    event = CloudEvent(
        id=uuid4(),
        source=f"/passend/{cls.topic.split('.')[1]}",
        type=event_type,
        subject=str(example.get("case_id", "directory")),
        time=datetime(2026, 9, 14, 8, 30, tzinfo=UTC),
        swv="swv-2801",
        correlationid="corr-1",
        causationid="cmd-1",
        actor="ib-7731",
        streamversion=1,
        position=7,
        data=example,
    )
    _, headers, _ = event.to_kafka()
    header_values = {name: raw.decode() for name, raw in headers}

    assert channel["messages"][event_type] == {"$ref": f"#/components/messages/{event_type}"}
    assert message["payload"] == {"$ref": f"#/components/schemas/{event_type}"}
    _payload_validator(document, event_type).validate(example)
    headers_schema = {"components": document["components"], **message["headers"]}
    jsonschema.Draft7Validator(headers_schema).validate(header_values)
    wrong_type = {**header_values, "ce_type": "nl.passend.intake.Other.v1"}
    assert list(jsonschema.Draft7Validator(headers_schema).iter_errors(wrong_type))


def test_a_payload_missing_a_required_field_does_not_fit(document):
    cls = EVENT_TYPES["nl.passend.intake.RequestSubmitted.v1"]
    example = {k: v for k, v in example_of(cls).items() if k != "case_id"}

    with pytest.raises(jsonschema.ValidationError, match="case_id"):
        _payload_validator(document, cls.event_type).validate(example)
