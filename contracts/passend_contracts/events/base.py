"""What every event payload shares, and the mark on free texts about a pupil."""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class _SealedText:
    """Marks a field as free text about a pupil: stored and published sealed, never in clear.

    The store seals such a field with the case's text key before the event is written
    (``passend_backbone.texts``); only the owning service's API opens it for a reader, and
    after the pupil's erasure it opens nowhere. Its schema says so (``x-sealed``).
    """

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        value = handler(schema)
        value["x-sealed"] = True
        value.setdefault(
            "description",
            "Free text about the pupil, sealed with the case's key: `sealed:v1:...` on the "
            "bus and in the store; read it through the owning service's API.",
        )
        return value

    def __repr__(self) -> str:
        return "SEALED"


SEALED = _SealedText()

# A free text about a pupil (goals, notes, reasons, decisions): sealed at rest and in transit.
# Never on a field with ``max_length``: the sealed form is longer than the text.
PupilText = Annotated[str, SEALED]


class EventPayload(BaseModel):
    """Base of every event's ``data``. Subclasses set ``event_type`` (with version) and ``topic``.

    Payloads are frozen and forbid unknown fields when produced; consumers parse with
    :func:`passend_contracts.registry.parse`, which tolerates fields added later.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic: ClassVar[str]
    # One sentence on what the event means in the domain, and which rule it follows.
    meaning: ClassVar[str]
    # A valid payload in its JSON form, shown in the event catalogue and checked by the tests.
    # Without one the catalogue shows a generated minimal instance.
    example: ClassVar[dict[str, Any] | None] = None
    # Set on an old version once a newer one replaces it: what replaces it and since when.
    # Deprecated versions stay registered (old events are upcast on read, never rewritten).
    deprecated: ClassVar[str | None] = None


# A path into an event's JSON data: field names, and "[]" for "every item of this list".
SealedPath = tuple[str, ...]


def _marked(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return any(m is SEALED for m in get_args(annotation)[1:])
    return False


def _paths_in(annotation: Any, metadata: list[Any]) -> list[SealedPath]:
    if any(m is SEALED for m in metadata) or _marked(annotation):
        return [()]
    origin = get_origin(annotation)
    if origin is Annotated:
        return _paths_in(get_args(annotation)[0], list(get_args(annotation)[1:]))
    if origin in (Union, types.UnionType):
        found: list[SealedPath] = []
        for arg in get_args(annotation):
            found += [p for p in _paths_in(arg, []) if p not in found]
        return found
    if origin in (list, tuple, frozenset, set):
        return [("[]", *p) for arg in get_args(annotation) for p in _paths_in(arg, [])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(sealed_paths(annotation))
    return []


@cache
def sealed_paths(model: type[BaseModel]) -> tuple[SealedPath, ...]:
    """Where ``model``'s JSON data holds free texts about a pupil (fields marked PupilText)."""
    paths: list[SealedPath] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        paths += [(key, *p) for p in _paths_in(info.annotation, list(info.metadata))]
    return tuple(paths)
