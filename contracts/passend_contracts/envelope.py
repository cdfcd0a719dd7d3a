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

EXTENSIONS = (
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

    id: UUID = Field(description="The event's id, unique per event; consumers deduplicate on it")
    source: str = Field(description="URI-reference of the producing service, e.g. /passend/intake")
    type: str = Field(
        description="Versioned event type, e.g. nl.passend.intake.RequestSubmitted.v1"
    )
    subject: str = Field(description="The stream the event belongs to: the case id for case events")
    time: datetime = Field(description="When it happened (RFC 3339)")
    specversion: str = Field(default=SPECVERSION, description="CloudEvents version")
    datacontenttype: str = Field(default=CONTENT_TYPE, description="Media type of data")
    swv: str = Field(description="Tenant: the samenwerkingsverband (SWV) id")
    correlationid: str = Field(description="Shared by everything one user action caused")
    causationid: str = Field(description="The event or command that caused this event")
    actor: str = Field(description="Who did it: a person's or a service's id, never a name")
    onbehalfof: str | None = Field(default=None, description="For whom the actor acted, if anyone")
    streamversion: int = Field(description="The event's version within its stream (case), from 1")
    position: int = Field(description="The event's global position in its producer's store")
    data: dict[str, Any] = Field(description="The event's payload, as its type's schema says")

    def to_kafka(self) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
        """(key, headers, value) for Kafka binary content mode; the key is the subject."""
        headers: list[tuple[str, bytes]] = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        for name in EXTENSIONS:
            value = getattr(self, name)
            if value is not None:
                headers.append((f"ce_{name}", str(value).encode()))
        body = json.dumps(self.data, separators=(",", ":"), sort_keys=True, default=str)
        return self.subject.encode(), headers, body.encode()

    @classmethod
    def from_kafka(
        cls,
        headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...],
        value: bytes | None,
    ) -> CloudEvent:
        """Parse a Kafka record in binary content mode; raises ``ValueError`` when malformed.

        Headers this version does not know (extensions of newer producers) are ignored.
        """
        attrs: dict[str, Any] = {}
        for name, raw in headers:
            if name.startswith("ce_"):
                attribute = name[3:]
            elif name == "content-type":
                attribute = "datacontenttype"
            else:
                continue
            try:
                attrs[attribute] = raw.decode()
            except (AttributeError, UnicodeDecodeError) as exc:
                raise ValueError(f"header {name!r} is not UTF-8 text: {exc}") from exc
        if value is None:
            raise ValueError("event body is missing (a tombstone is not an event)")
        try:
            data = json.loads(value)
        except (TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"event body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("event body must be a JSON object")
        return cls.model_validate({**attrs, "data": data})
