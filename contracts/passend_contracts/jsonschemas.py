"""The published JSON Schemas (draft 2020-12) of every event and of the envelope."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.examples import example_of

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_ID = "urn:passend:envelope:cloudevents-1.0"


def event_schema_id(event_type: str) -> str:
    """The ``$id`` of one event type's schema."""
    return f"urn:passend:event:{event_type}"


def event_schema(cls: type[EventPayload]) -> dict[str, Any]:
    """The JSON Schema of ``cls``'s payload as consumers may rely on it.

    Producers forbid unknown fields, but the published schema allows them: consumers must
    ignore fields added by newer producers, and a schema that rejected them would make
    every added optional field a breaking change.
    """
    # A fresh copy each time: callers may change what they get.
    return copy.deepcopy(_event_schema(cls))


@cache
def _event_schema(cls: type[EventPayload]) -> dict[str, Any]:
    # Event classes do not change once defined, so neither does their schema.
    schema = _open(cls.model_json_schema())
    description = cls.meaning
    if cls.deprecated:
        description = f"{description}\n\nDeprecated: {cls.deprecated}"
        schema["deprecated"] = True
    return {
        **schema,
        "$schema": DIALECT,
        "$id": event_schema_id(cls.event_type),
        "title": cls.event_type,
        "description": description,
        "examples": [example_of(cls)],
    }


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of the envelope's attributes (as :class:`CloudEvent` validates them)."""
    return {
        **CloudEvent.model_json_schema(),
        "$schema": DIALECT,
        "$id": ENVELOPE_ID,
        "title": "CloudEvent",
        "description": (
            "CloudEvents 1.0 attributes of every Passend event. On Kafka (binary content "
            "mode) each attribute but data travels as a header ce_<name> (datacontenttype as "
            "content-type) and data is the JSON body; the record key is the subject (stream id)."
        ),
    }


def _open(schema: Any) -> Any:
    """``schema`` without ``additionalProperties: false`` anywhere (see :func:`event_schema`)."""
    if isinstance(schema, dict):
        return {
            key: _open(value)
            for key, value in schema.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(schema, list):
        return [_open(item) for item in schema]
    return schema
