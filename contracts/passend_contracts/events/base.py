"""What every event payload shares."""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


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
