"""Sealing the marked free texts of events as the store writes them (one place, every path).

The contracts mark free texts about a pupil with ``PupilText``; :func:`seal_events` replaces
each such value with its token before the event is hashed and stored, so the stored event,
its hash, the relayed message and every projection built from it hold only the token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any, Protocol, TypeVar

from passend_backbone.texts import tokens
from passend_backbone.texts.keys import TextKey, TextKeys, scope_of
from passend_contracts.events.base import SealedPath, sealed_paths
from passend_contracts.registry import EVENT_TYPES


class _Event(Protocol):
    # The event store's NewEvent (not imported: the store imports this module).
    @property
    def event_type(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=_Event)


@cache
def paths_of(event_type: str) -> tuple[SealedPath, ...]:
    """The sealed paths of an event type (none for a type the contracts do not know)."""
    cls = EVENT_TYPES.get(event_type)
    return sealed_paths(cls) if cls is not None else ()


def _sealed_at(value: Any, path: SealedPath, seal: Any) -> Any:
    if not path:
        if isinstance(value, str) and value and not tokens.is_token(value):
            return seal(value)
        return value
    head, rest = path[0], path[1:]
    if head == "[]":
        if isinstance(value, list):
            return [_sealed_at(item, rest, seal) for item in value]
        return value
    if isinstance(value, dict) and head in value:
        return {**value, head: _sealed_at(value[head], rest, seal)}
    return value


async def seal_events(
    keys: TextKeys, conn: Any, swv: str, stream_id: str, events: Sequence[E]
) -> list[E]:
    """``events`` with every marked free text sealed with its case's key.

    An event with nothing marked is returned as it is (no key is made for it). A value
    already sealed (an event copied from another stream) is left as it is.
    """
    out: list[E] = []
    made: dict[str, TextKey] = {}
    for event in events:
        paths = paths_of(event.event_type)
        if not paths:
            out.append(event)
            continue
        scope = scope_of(stream_id, event.data)
        key = made.get(scope)
        if key is None:
            key = made[scope] = await keys.key_for(conn, swv, scope)

        def seal(plain: str, key: TextKey = key) -> str:
            return tokens.seal(plain, swv=swv, scope=key.scope, key_id=key.key_id, key=key.key)

        data: Any = event.data
        for path in paths:
            data = _sealed_at(data, path, seal)
        out.append(replace(event, data=data))  # type: ignore[type-var]
    return out
