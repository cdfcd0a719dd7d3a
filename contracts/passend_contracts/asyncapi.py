"""The AsyncAPI 3.0.0 document of the bus: a channel per topic, a message per event type."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

from passend_contracts import topics
from passend_contracts.envelope import SPECVERSION, CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.examples import example_of
from passend_contracts.jsonschemas import envelope_schema, event_schema

HEADERS_SCHEMA = "CloudEventHeaders"
_KAFKA_BINDING = "0.5.0"
_DESCRIPTION = (
    "Every event a Passend service publishes. Each service owns one topic, keyed by "
    "stream (case) id so one case's events stay in order. Events travel as CloudEvents "
    "1.0 in Kafka binary content mode: the attributes as ce_* headers, the payload as a JSON body. "
    "Event types carry their version; a breaking change is a new version published "
    "alongside the old one, and old versions are upcast on read. Consumers ignore fields "
    "they do not know."
)


def header_name(attribute: str) -> str:
    """The Kafka header that carries a CloudEvents attribute in binary content mode."""
    return "content-type" if attribute == "datacontenttype" else f"ce_{attribute}"


def asyncapi_document(event_types: Mapping[str, type[EventPayload]]) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of ``event_types`` (normally the registry's)."""
    schemas: dict[str, Any] = {HEADERS_SCHEMA: headers_schema()}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL:
        channels[topic] = {
            "address": topic,
            "title": topic,
            "description": f"Events of the {_service(topic)} service, keyed by stream (case) id.",
            "messages": {},
            "bindings": {
                "kafka": {
                    "topic": topic,
                    "partitions": topics.PARTITIONS,
                    "bindingVersion": _KAFKA_BINDING,
                }
            },
        }
    for event_type, cls in sorted(event_types.items()):
        _add_payload_schemas(schemas, cls)
        messages[event_type] = _message(cls)
        channels[cls.topic]["messages"][event_type] = {
            "$ref": f"#/components/messages/{event_type}"
        }
    for topic, channel in channels.items():
        operations[f"publish.{_service(topic)}"] = {
            "action": "send",
            "title": f"The {_service(topic)} service publishes its events",
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [
                {"$ref": f"#/channels/{topic}/messages/{name}"} for name in channel["messages"]
            ],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Passend events",
            "version": version("passend-contracts"),
            "description": _DESCRIPTION,
        },
        "defaultContentType": CloudEvent.model_fields["datacontenttype"].default,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def headers_schema() -> dict[str, Any]:
    """The Kafka headers of every event, derived from the envelope's attributes."""
    attributes = envelope_schema()["properties"]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in CloudEvent.model_fields.items():
        if name == "data":
            continue
        attribute = attributes[name]
        header: dict[str, Any] = {"type": "string", "description": field.description or name}
        if attribute.get("type") == "integer":
            header["pattern"] = "^-?[0-9]+$"
        elif "format" in attribute:
            header["format"] = attribute["format"]
        if name == "specversion":
            header["const"] = SPECVERSION
        properties[header_name(name)] = header
        # Producers send every attribute that has a value; only optional ones may be absent.
        if field.is_required() or field.default is not None:
            required.append(header_name(name))
    return {
        "type": "object",
        "description": "CloudEvents attributes in Kafka binary content mode.",
        "properties": properties,
        "required": required,
    }


def _message(cls: type[EventPayload]) -> dict[str, Any]:
    name = cls.event_type
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": cls.meaning,
        "contentType": CloudEvent.model_fields["datacontenttype"].default,
        "headers": {
            "allOf": [
                {"$ref": f"#/components/schemas/{HEADERS_SCHEMA}"},
                {"type": "object", "properties": {"ce_type": {"const": name}}},
            ]
        },
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "correlationId": {
            "description": "Shared by everything one user action caused.",
            "location": "$message.header#/ce_correlationid",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The stream id, i.e. the case id for case events (subject).",
                },
                "bindingVersion": _KAFKA_BINDING,
            }
        },
        "examples": [{"name": "example", "payload": example_of(cls)}],
    }
    if cls.deprecated:
        message["description"] = f"Deprecated: {cls.deprecated}"
    return message


def _add_payload_schemas(schemas: dict[str, Any], cls: type[EventPayload]) -> None:
    """Adds ``cls``'s payload schema and its ``$defs`` to the components' schemas.

    A nested schema whose name another event already uses for a different shape is named
    after this event too, so no event's payload changes by sharing a name.
    """
    schema = event_schema(cls)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    renames: dict[str, str] = {}
    unchanged = {def_name: def_name for def_name in definitions}
    for def_name, definition in definitions.items():
        target = def_name
        if target in schemas and schemas[target] != _rewrite_refs(definition, unchanged):
            target = f"{cls.event_type}.{def_name}"
        renames[def_name] = target
    for def_name, definition in definitions.items():
        schemas[renames[def_name]] = _rewrite_refs(definition, renames)
    for keyword in ("$schema", "$id", "examples"):
        schema.pop(keyword, None)
    schemas[cls.event_type] = _rewrite_refs(schema, renames)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        rewritten = {key: _rewrite_refs(value, renames) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            rewritten["$ref"] = f"#/components/schemas/{renames[ref.removeprefix('#/$defs/')]}"
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _service(topic: str) -> str:
    # Topic names are passend.<service>.events.
    return topic.split(".")[1]
