"""A service's state of one case as of a moment, folded from its events up to then.

A service passes its own fold (``state_as_of``), built from its pure ``evolve`` with
:func:`fold_with`; without one :func:`summary_state` folds into a generic summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from passend_backbone.audit.descriptions import base_type
from passend_backbone.eventstore import RecordedEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.registry import UnknownEventType, parse_data

StateAsOf = Callable[[Sequence[RecordedEvent]], Any]
S = TypeVar("S")


def to_json(value: Any) -> Any:
    """Plain JSON values of a state (pydantic models, dataclasses, dates, enums, sets)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return to_jsonable_python(value)


def fold_with(evolve: Callable[[S, EventPayload], S], initial: S) -> StateAsOf:
    """A ``state_as_of`` from a service's pure fold: parse each event, ``evolve``, to JSON.

    Intake: ``fold_with(evolve, CaseState())``; assignment: ``fold_with(evolve, None)``.
    """

    def state_as_of(events: Sequence[RecordedEvent]) -> Any:
        state = initial
        for event in events:
            try:
                payload = parse_data(event.event_type, event.data)
            except UnknownEventType:
                continue  # written by a newer version: this fold has no rule for it
            state = evolve(state, payload)
        return to_json(state)

    return state_as_of


def summary_state(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The generic fold: each field's latest value, the last event of each type, and counts."""
    fields: dict[str, Any] = {}
    last_of_type: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for event in events:
        name = base_type(event.event_type).rsplit(".", 1)[-1]
        fields.update(event.data)
        last_of_type[name] = event.data
        counts[name] = counts.get(name, 0) + 1
    return {
        "version": events[-1].stream_version if events else 0,
        "last_event_at": events[-1].occurred_at.isoformat() if events else None,
        "fields": fields,
        "last_of_type": last_of_type,
        "counts": counts,
    }
