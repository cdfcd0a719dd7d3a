"""What every event payload shares."""

from typing import ClassVar

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
