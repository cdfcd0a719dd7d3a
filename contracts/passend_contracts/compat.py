"""Whether a new JSON Schema of an event would break consumers built on its old schema.

Events flow both ways across a schema change: existing consumers read events produced with
the new schema, and new code reads old events (the stores keep them for ever, the topics
can be rebuilt from them). So, per field, the values the new schema accepts must be the
values the old one accepts. What stays allowed: adding an optional field (consumers parse
with ``extra="ignore"``), a required field gaining a default (producers still always write
it), and changes to annotations (titles, descriptions, examples, deprecation). Everything
else is reported; the remedy is a new event version published alongside the old one with
an upcaster old -> new (see ``contracts/README.md``).
"""

from __future__ import annotations

import json
from typing import Any

# Keywords that narrow or widen the accepted values; any change to one breaks one direction.
_CONSTRAINTS = (
    "const",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)

Schema = dict[str, Any]


def breaking_changes(old_schema: Schema, new_schema: Schema) -> list[str]:
    """Every change from ``old_schema`` to ``new_schema`` that would break a consumer or the
    reading of stored events, one sentence each, in schema order; empty when compatible.

    Follows local ``$ref`` into ``$defs``/``definitions`` of each schema's own root, and
    treats ``anyOf``/``oneOf`` with ``{"type": "null"}`` (pydantic's ``X | None``) as a
    nullable ``X``. Raises ``ValueError`` for a ``$ref`` it cannot resolve.
    """
    comparison = _Comparison(old_schema, new_schema)
    comparison.node(old_schema, new_schema, "")
    return comparison.problems


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.problems: list[str] = []
        # (old $ref, new $ref) pairs under comparison: recursive models compare once.
        self._active: set[tuple[str, str]] = set()

    def report(self, path: str, message: str) -> None:
        self.problems.append(f"{path or '(event)'}: {message}")

    def node(self, old: Schema, new: Schema, path: str) -> None:
        key = (old.get("$ref", ""), new.get("$ref", ""))
        if key != ("", ""):
            if key in self._active:
                return
            self._active.add(key)
        try:
            self._node(_resolve(old, self.old_root), _resolve(new, self.new_root), path)
        finally:
            self._active.discard(key)

    def _node(self, old: Schema, new: Schema, path: str) -> None:
        old_nullable, old_alts = _variants(old, self.old_root)
        new_nullable, new_alts = _variants(new, self.new_root)
        if old_nullable and not new_nullable:
            self.report(path, "no longer accepts null (stored events holding null would not parse)")
        if new_nullable and not old_nullable:
            self.report(path, "may now be null (existing consumers expect a value)")
        if len(old_alts) == 1 and len(new_alts) == 1:
            self.single(old_alts[0], new_alts[0], path)
            return
        old_by_kind = {_kind(alt, titled=True): alt for alt in old_alts}
        new_by_kind = {_kind(alt, titled=True): alt for alt in new_alts}
        if old_by_kind.keys() != new_by_kind.keys():
            self.report(
                path,
                f"type changed from {_describe(old_by_kind)} to {_describe(new_by_kind)}",
            )
        for kind in old_by_kind.keys() & new_by_kind.keys():
            self.single(old_by_kind[kind], new_by_kind[kind], path)

    def single(self, old: Schema, new: Schema, path: str) -> None:
        old_kind, new_kind = _kind(old), _kind(new)
        if old_kind != new_kind:
            self.report(path, f"type changed from {old_kind!r} to {new_kind!r}")
            return
        if old.get("format") != new.get("format"):
            self.report(path, f"format changed from {old.get('format')!r} to {new.get('format')!r}")
        if "enum" in old or "enum" in new:
            self.enum(old, new, path)
        for keyword in _CONSTRAINTS:
            if old.get(keyword) != new.get(keyword):
                self.report(
                    path, f"{keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}"
                )
        if "items" in old or "items" in new:
            self.node(old.get("items", {}), new.get("items", {}), f"{path}[]")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) or isinstance(new_extra, dict):
            if isinstance(old_extra, dict) and isinstance(new_extra, dict):
                self.node(old_extra, new_extra, f"{path}{{}}")
            else:
                self.report(path, "map values changed into fixed fields or back")
        if "properties" in old or "properties" in new:
            self.fields(old, new, path)

    def enum(self, old: Schema, new: Schema, path: str) -> None:
        if "enum" not in old or "enum" not in new:
            self.report(path, "changed between a free value and an enumeration")
            return
        old_values = {json.dumps(v, sort_keys=True) for v in old["enum"]}
        new_values = {json.dumps(v, sort_keys=True) for v in new["enum"]}
        if removed := sorted(old_values - new_values):
            self.report(
                path, f"enum values removed: {', '.join(removed)} (stored events hold them)"
            )
        if added := sorted(new_values - old_values):
            self.report(
                path, f"enum values added: {', '.join(added)} (existing consumers reject them)"
            )

    def fields(self, old: Schema, new: Schema, path: str) -> None:
        old_fields: dict[str, Schema] = old.get("properties", {})
        new_fields: dict[str, Schema] = new.get("properties", {})
        old_required = set(old.get("required", ()))
        new_required = set(new.get("required", ()))
        for name, old_field in old_fields.items():
            field_path = f"{path}.{name}" if path else name
            if name not in new_fields:
                self.report(field_path, "field removed (existing consumers read it)")
                continue
            if name in new_required and name not in old_required:
                self.report(
                    field_path, "optional field became required (stored events may lack it)"
                )
            self.node(old_field, new_fields[name], field_path)
        for name in new_fields.keys() - old_fields.keys():
            if name in new_required:
                field_path = f"{path}.{name}" if path else name
                self.report(
                    field_path, "new required field without default (stored events lack it)"
                )


def _resolve(schema: Schema, root: Schema) -> Schema:
    """``schema`` with local ``$ref`` and one-element ``allOf`` merged in (siblings win)."""
    seen: set[str] = set()
    while True:
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen:
                raise ValueError(f"$ref {ref!r} refers to itself")
            seen.add(ref)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**_pointer(root, ref), **siblings}
        elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            siblings = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**schema["allOf"][0], **siblings}
        else:
            return schema


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#/"):
        raise ValueError(f"cannot resolve $ref {ref!r}: only local references are supported")
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            raise ValueError(f"cannot resolve $ref {ref!r}: {part!r} not found")
        target = target[part]
    if not isinstance(target, dict):
        raise ValueError(f"$ref {ref!r} does not point at a schema")
    return target


def _variants(schema: Schema, root: Schema) -> tuple[bool, list[Schema]]:
    """(whether null is accepted, the non-null alternatives)."""
    for union in ("anyOf", "oneOf"):
        if union in schema:
            nullable = False
            alternatives: list[Schema] = []
            for option in schema[union]:
                option_nullable, option_alternatives = _variants(_resolve(option, root), root)
                nullable = nullable or option_nullable
                alternatives.extend(option_alternatives)
            return nullable, alternatives
    types = schema.get("type")
    if isinstance(types, list):
        rest = [t for t in types if t != "null"]
        narrowed = {**schema, "type": rest[0] if len(rest) == 1 else rest}
        return "null" in types, [narrowed] if rest else []
    if types == "null":
        return True, []
    if "enum" in schema and None in schema["enum"]:
        return True, [{**schema, "enum": [v for v in schema["enum"] if v is not None]}]
    return False, [schema]


def _kind(schema: Schema, *, titled: bool = False) -> str:
    types = schema.get("type")
    if isinstance(types, list):
        return "|".join(sorted(types))
    if isinstance(types, str):
        kind = types
    elif "properties" in schema:
        kind = "object"
    elif "enum" in schema:
        kind = "enum"
    else:
        kind = "any"
    # Alternatives of a union of models are told apart by their model's title; elsewhere a
    # model's name is not on the wire, so renaming it changes nothing.
    if titled and kind == "object" and "title" in schema:
        return f"object {schema['title']}"
    return kind


def _describe(by_kind: dict[str, Schema]) -> str:
    return " | ".join(sorted(by_kind)) or "nothing"
