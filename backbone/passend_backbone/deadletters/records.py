"""One dead letter as the operator sees it: where it came from, why, and what was decided."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from passend_consumerkit.reasons import HANDLER_FAILED, NOT_AN_EVENT
from passend_contracts.integration import (
    DLQ_ERROR,
    DLQ_ERROR_TYPE,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_STAGE,
    DLQ_TOPIC,
)

# How much of a record's body a list or a screen shows at most.
MAX_SHOWN_BYTES = 64 * 1024


@dataclass(frozen=True, order=True)
class DeadLetterKey:
    """A dead letter's identity: the consumer that set it aside and the source record's place.

    Its text form ``<consumer>:<topic>:<partition>:<offset>`` names it in the CLI and the API.
    """

    consumer: str
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.consumer}:{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> DeadLetterKey:
        """The key of ``consumer:topic:partition:offset``; ``ValueError`` when malformed."""
        parts = text.strip().split(":")
        if len(parts) != 4 or not all(parts[:2]):
            raise ValueError(
                f"a dead letter is named <consumer>:<topic>:<partition>:<offset>, not {text!r}"
            )
        try:
            return cls(parts[0], parts[1], int(parts[2]), int(parts[3]))
        except ValueError:
            raise ValueError(
                f"partition and offset of a dead letter are whole numbers, not {text!r}"
            ) from None


@dataclass(frozen=True)
class Resolution:
    """What an operator decided: ``acknowledged`` (handled without applying) or ``replayed``."""

    resolution: str
    resolved_by: str
    reason: str
    resolved_at: datetime
    event_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "resolved_by": self.resolved_by,
            "reason": self.reason,
            "resolved_at": self.resolved_at.isoformat(),
        }


@dataclass(frozen=True)
class DeadLetter:
    """A record a consumer group set aside, read back from its dead-letter topic."""

    key: DeadLetterKey
    group: str
    dead_letter_topic: str
    dead_letter_offset: int
    dead_lettered_at: datetime
    stage: str
    reason: str
    reason_code: str
    error_type: str
    headers: tuple[tuple[str, bytes], ...]  # the record's own headers
    record_key: bytes | None
    value: bytes | None
    resolution: Resolution | None = None

    @property
    def status(self) -> str:
        """``open``, ``acknowledged`` or ``replayed``."""
        return self.resolution.resolution if self.resolution else "open"

    def header(self, name: str) -> str | None:
        for key, raw in self.headers:
            if key == name:
                return raw.decode("utf-8", errors="replace")
        return None

    @property
    def event_type(self) -> str | None:
        return self.header("ce_type")

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id")

    @property
    def subject(self) -> str | None:
        return self.header("ce_subject")

    @property
    def swv(self) -> str | None:
        return self.header("ce_swv")

    def summary(self) -> dict[str, Any]:
        """What a list shows: no body (it may hold a case's content)."""
        return {
            "id": str(self.key),
            "consumer": self.key.consumer,
            "group": self.group,
            "topic": self.key.topic,
            "partition": self.key.partition,
            "offset": self.key.offset,
            "stage": self.stage,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "error_type": self.error_type,
            "dead_lettered_at": self.dead_lettered_at.isoformat(),
            "event_type": self.event_type,
            "event_id": self.event_id,
            "case_id": self.subject,
            "swv": self.swv,
            "status": self.status,
            "resolution": self.resolution.as_json() if self.resolution else None,
        }

    def detail(self) -> dict[str, Any]:
        """The summary with the record itself: its headers and body as text (or hex)."""
        return {
            **self.summary(),
            "record": {
                "key": _text(self.record_key),
                "headers": {k: _text(v) for k, v in self.headers},
                "value": _body(self.value),
                "size": len(self.value or b""),
            },
        }


def from_record(
    record: Any, consumer: str, resolution: Resolution | None = None
) -> DeadLetter | None:
    """The dead letter a record of a dead-letter topic holds; ``None`` when it has no origin."""
    dlq: dict[str, str] = {}
    own: list[tuple[str, bytes]] = []
    for name, raw in record.headers or ():
        if name.startswith("dlq-"):
            dlq[name] = raw.decode("utf-8", errors="replace")
        else:
            own.append((name, raw))
    try:
        key = DeadLetterKey(consumer, dlq[DLQ_TOPIC], int(dlq[DLQ_PARTITION]), int(dlq[DLQ_OFFSET]))
    except (KeyError, ValueError):
        return None
    stage = dlq.get(DLQ_STAGE, "parse")
    # Records set aside before the reason code existed: the stage tells the kind.
    code = dlq.get(DLQ_REASON) or (HANDLER_FAILED if stage == "handle" else NOT_AN_EVENT)
    return DeadLetter(
        key=key,
        group=dlq.get(DLQ_GROUP, ""),
        dead_letter_topic=record.topic,
        dead_letter_offset=record.offset,
        dead_lettered_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        stage=stage,
        reason=dlq.get(DLQ_ERROR, ""),
        reason_code=code,
        error_type=dlq.get(DLQ_ERROR_TYPE, ""),
        headers=tuple(own),
        record_key=record.key,
        value=record.value,
        resolution=resolution,
    )


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + raw.hex()


def _body(raw: bytes | None) -> dict[str, Any]:
    """The body as pretty JSON when it is JSON, else as text, else as hex; cut short."""
    if raw is None:
        return {"format": "none", "text": ""}
    cut = raw[:MAX_SHOWN_BYTES]
    try:
        text = cut.decode("utf-8")
    except UnicodeDecodeError:
        return {"format": "hex", "text": cut.hex(" ", 1), "cut": len(raw) > len(cut)}
    try:
        return {
            "format": "json",
            "text": json.dumps(json.loads(text), indent=2, ensure_ascii=False),
        }
    except ValueError:
        return {"format": "text", "text": text, "cut": len(raw) > len(cut)}
