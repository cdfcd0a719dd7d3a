"""The AsyncAPI 3.0.0 document of the bus: a channel per topic, a message per event type, and
the channels outsiders read (a region's integration stream, its thin notifications, and the
dead-letter topics operators read)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

from passend_contracts import topics
from passend_contracts.envelope import SPECVERSION, CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.examples import example_of
from passend_contracts.integration import (
    DEAD_LETTER_HEADERS,
    MUNICIPALITY_FIELDS,
    THIN_CONTENT_TYPE,
    THIN_ID_HEADER,
    ThinNotification,
)
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
    _add_outside_channels(event_types, schemas, messages, channels, operations)
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


INTEGRATION_CHANNEL = "integration"
THIN_CHANNEL_NAME = "integrationThin"
DEAD_LETTER_CHANNEL = "deadLetters"
THIN_MESSAGE = "ThinNotification"
DEAD_LETTER_MESSAGE = "DeadLetter"
_REGION = {
    "description": "The region's key: its name in lower-case ASCII letters, digits and '-' "
    "(for a municipality its CBS code, e.g. gm0622).",
    "examples": ["gm0622", "waterweg"],
}


def _add_outside_channels(
    event_types: Mapping[str, type[EventPayload]],
    schemas: dict[str, Any],
    messages: dict[str, Any],
    channels: dict[str, Any],
    operations: dict[str, Any],
) -> None:
    """The channels outsiders read: integration stream, thin notifications, dead letters."""
    integration: dict[str, Any] = {}
    for event_type in sorted(MUNICIPALITY_FIELDS):
        cls = event_types.get(event_type)
        if cls is None:
            continue
        name = f"integration.{event_type}"
        schemas[name] = _minimised(schemas[event_type], MUNICIPALITY_FIELDS[event_type])
        message = _message(cls)
        message["payload"] = {"$ref": f"#/components/schemas/{name}"}
        message["name"] = name
        message["summary"] = f"{cls.meaning} Only the fields a municipality needs."
        message["examples"] = [
            {
                "name": "example",
                "payload": {
                    k: v for k, v in example_of(cls).items() if k in MUNICIPALITY_FIELDS[event_type]
                },
            }
        ]
        messages[name] = message
        integration[name] = {"$ref": f"#/components/messages/{name}"}
    channels[INTEGRATION_CHANNEL] = {
        "address": f"{topics.INTEGRATION_PREFIX}{{region}}",
        "title": "A region's cases, for its municipality",
        "description": "Written by the integration gateway only: the events of the cases of one "
        "region (the pupil's municipality), of the allowed types, with only the allowed "
        "fields; who acted on whose behalf is dropped (the actor is the producing service). "
        "Keyed by case id; event ids are the source events' ids, to deduplicate on. An "
        "outside organisation may read its own region's topics only.",
        "parameters": {"region": _REGION},
        "messages": integration,
        "bindings": {"kafka": {"partitions": topics.PARTITIONS, "bindingVersion": _KAFKA_BINDING}},
    }
    thin_schema = ThinNotification.model_json_schema(by_alias=True)
    thin_schema.pop("title", None)
    schemas[THIN_MESSAGE] = thin_schema
    messages[THIN_MESSAGE] = {
        "name": THIN_MESSAGE,
        "title": "Thin notification",
        "summary": "Case X changed: fetch it. The shape of the ZGW Notificaties API, on purpose.",
        "description": "A thin notification carries no case content, only where to fetch "
        "it: the receiver calls hoofdObject (or resourceUrl) on the owning service's API "
        "with its own token, so it gets what that API lets it see. Its JSON names are the "
        "ZGW Notificaties API's (VNG), so systems that take ZGW notifications take these.",
        "contentType": THIN_CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                THIN_ID_HEADER: {
                    "type": "string",
                    "format": "uuid",
                    "description": "The id of the event that caused it, the same on every "
                    "redelivery: deduplicate on it.",
                },
                "content-type": {"type": "string", "const": THIN_CONTENT_TYPE},
            },
            "required": [THIN_ID_HEADER],
        },
        "payload": {"$ref": f"#/components/schemas/{THIN_MESSAGE}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The case id."},
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    }
    channels[THIN_CHANNEL_NAME] = {
        "address": f"{topics.INTEGRATION_PREFIX}{{region}}{topics.THIN_SUFFIX}",
        "title": "A region's thin notifications",
        "description": "One thin notification per event on the region's integration stream.",
        "parameters": {"region": _REGION},
        "messages": {THIN_MESSAGE: {"$ref": f"#/components/messages/{THIN_MESSAGE}"}},
        "bindings": {"kafka": {"partitions": topics.PARTITIONS, "bindingVersion": _KAFKA_BINDING}},
    }
    messages[DEAD_LETTER_MESSAGE] = {
        "name": DEAD_LETTER_MESSAGE,
        "title": "Dead letter",
        "summary": "A record a consumer group set aside: failed for what it is, not for now.",
        "description": "The value is the record's own, byte for byte (it may not be JSON at "
        "all); the headers say why and where from, followed by the record's own headers.",
        "headers": {
            "type": "object",
            "properties": {
                header: {"type": "string", "description": text}
                for header, text in DEAD_LETTER_HEADERS.items()
            },
            "required": sorted(DEAD_LETTER_HEADERS),
        },
        "payload": {"description": "The record's value as it was read."},
    }
    channels[DEAD_LETTER_CHANNEL] = {
        "address": "{topic}.dlq.{consumerGroup}",
        "title": "Dead letters, for operators",
        "description": "One topic per event topic and consumer group that set records aside.",
        "parameters": {
            "topic": {
                "description": "The event topic the record was read from.",
                "enum": list(topics.ALL),
            },
            "consumerGroup": {"description": "The consumer group that set it aside."},
        },
        "messages": {DEAD_LETTER_MESSAGE: {"$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"}},
    }
    for operation, channel, title in (
        ("receive.integration", INTEGRATION_CHANNEL, "A municipality reads its region's cases"),
        ("receive.integrationThin", THIN_CHANNEL_NAME, "A municipality reads thin notifications"),
        ("receive.deadLetters", DEAD_LETTER_CHANNEL, "An operator reads what was set aside"),
    ):
        operations[operation] = {
            "action": "receive",
            "title": title,
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{name}"}
                for name in channels[channel]["messages"]
            ],
        }


def _minimised(schema: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """``schema`` with only ``fields`` (the allow-list keeps every required field)."""
    shown = dict(schema)
    shown["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k in fields}
    if "required" in schema:
        shown["required"] = [k for k in schema["required"] if k in fields]
    shown.pop("title", None)
    return shown
