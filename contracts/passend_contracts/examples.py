"""An example payload of every event: its own ``example``, or a generated minimal one."""

from __future__ import annotations

from typing import Any

from passend_contracts.events.base import EventPayload

_FORMATS = {
    "uuid": "00000000-0000-4000-8000-000000000000",
    "date-time": "2026-01-05T09:00:00Z",
    "date": "2026-01-05",
    "time": "09:00:00",
    "duration": "P1D",
    "email": "someone@example.org",
    "uri": "https://example.org/",
}


def example_of(cls: type[EventPayload]) -> dict[str, Any]:
    """``cls.example``, or else the smallest payload its schema allows, in its wire (JSON) form.

    Raises ``ValueError`` when the example does not validate, or when no minimal payload can
    be generated (e.g. a ``pattern``): then give the class an ``example``.
    """
    schema = cls.model_json_schema()
    data = cls.example if cls.example is not None else _minimal(schema, schema)
    if not isinstance(data, dict):
        raise ValueError(f"{cls.event_type}: example must be a JSON object")
    try:
        # The wire form: what a producer's model_dump(mode="json") writes.
        return cls.model_validate(data).model_dump(mode="json")
    except ValueError as exc:
        which = "its example" if cls.example is not None else "the generated minimal example"
        raise ValueError(
            f"{cls.event_type}: {which} does not validate; give {cls.__name__} a valid "
            f"`example` ClassVar: {exc}"
        ) from exc


def _minimal(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _minimal(target, root)
    if "default" in schema:
        return schema["default"]
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [o for o in schema[union] if o.get("type") != "null"]
            return _minimal(options[0], root) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        return "x" * max(int(schema.get("minLength", 1)), 1)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return low if kind == "number" else int(low)
    if kind == "boolean":
        return False
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [_minimal(schema.get("items", {"type": "string"}), root)] * count
    if kind == "null":
        return None
    required = set(schema.get("required", ()))
    return {
        name: _minimal(field, root)
        for name, field in schema.get("properties", {}).items()
        if name in required
    }
