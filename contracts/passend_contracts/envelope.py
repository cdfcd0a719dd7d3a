"""The CloudEvents 1.0 envelope in Kafka binary content mode (``ce_*`` headers, JSON body).

Extensions (lower-case alphanumerics, as CloudEvents requires):

- ``swv``: the tenant (samenwerkingsverband id)
- ``correlationid``: the id shared by everything one user action caused
- ``causationid``: the id of the event or command that caused this event
- ``actor``: who did it (a person's or a service's id, never a name)
- ``onbehalfof``: for whom the actor acted, if anyone
- ``streamversion``: the event's version within its stream (case)
- ``position``: the event's global position in its producer's store
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

_EXTENSIONS = (
    "swv",
    "correlationid",
    "causationid",
    "actor",
    "onbehalfof",
    "streamversion",
    "position",
)


class CloudEvent(BaseModel):
    """One event as it travels on the bus."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    source: str = Field(description="URI-reference of the producing service, e.g. /passend/intake")
    type: str = Field(description="Versioned event type, e.g. nl.passend.intake.RequestSubmitted.v1")
    subject: str = Field(description="The case id the event is about")
    time: datetime
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE
    swv: str
    correlationid: str
    causationid: str
    actor: str
    onbehalfof: str | None = None
    streamversion: int
    position: int
    data: dict[str, Any]

    def to_kafka(self) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
        """(key, headers, value) for Kafka binary content mode; the key is the case id."""
        headers: list[tuple[str, bytes]] = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        for name in _EXTENSIONS:
            value = getattr(self, name)
            if value is not None:
                headers.append((f"ce_{name}", str(value).encode()))
        body = json.dumps(self.data, separators=(",", ":"), sort_keys=True, default=str)
        return self.subject.encode(), headers, body.encode()

    @classmethod
    def from_kafka(
        cls, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...], value: bytes
    ) -> CloudEvent:
        """Parse a Kafka record in binary content mode; raises ``ValueError`` when malformed."""
        attrs: dict[str, Any] = {}
        for name, raw in headers:
            if name.startswith("ce_"):
                attrs[name[3:]] = raw.decode()
            elif name == "content-type":
                attrs["datacontenttype"] = raw.decode()
        try:
            data = json.loads(value)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"event body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("event body must be a JSON object")
        return cls.model_validate({**attrs, "data": data})
