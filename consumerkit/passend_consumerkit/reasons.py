"""Why a record was set aside, in words an operator can act on, with a short code for screens.

A dead letter's reason is read by a person deciding what to do with it: "the body is not
text" tells them the producer sent garbage, where Python's "'utf-16-le' codec can't
decode byte 0x9c" only tells them which guess a JSON parser made about the bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

# The codes of the ``dlq-reason`` header (``passend_contracts.integration.DLQ_REASON``).
NOT_TEXT: Final = "not-text"
NOT_JSON: Final = "not-json"
NOT_AN_EVENT: Final = "not-an-event"
BREAKS_CONTRACT: Final = "breaks-contract"
HANDLER_FAILED: Final = "handler-failed"
REASON_CODES: Final = (NOT_TEXT, NOT_JSON, NOT_AN_EVENT, BREAKS_CONTRACT, HANDLER_FAILED)

_MAX = 2000
_MAX_FIELDS = 5


@dataclass(frozen=True)
class Reason:
    """A short code (one of :data:`REASON_CODES`) and a sentence saying what is wrong."""

    code: str
    words: str


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def _fields(error: ValidationError) -> str:
    parts = []
    for problem in error.errors()[:_MAX_FIELDS]:
        where = ".".join(str(p) for p in problem["loc"]) or "the event"
        parts.append(f"{where}: {problem['msg']}")
    more = len(error.errors()) - _MAX_FIELDS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _not_text(value: bytes) -> Reason | None:
    """NOT_TEXT when the body is not UTF-8 or holds control bytes (binary data), else None.

    Asked of the bytes, not of the parser's error: a JSON parser that sees zero bytes
    guesses UTF-16 and may even decode garbage as "text" before it fails.
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reason(
            NOT_TEXT,
            "the record's body is not UTF-8 text (binary data or another character set), "
            f"so it can't be JSON: byte 0x{value[exc.start]:02x} at position {exc.start} "
            "is not valid UTF-8",
        )
    control = next((i for i, c in enumerate(text) if c < " " and c not in "\t\n\r"), None)
    if control is not None:
        return Reason(
            NOT_TEXT,
            "the record's body is not text (it holds control bytes such as zero, as binary "
            f"data does), so it can't be JSON: the first, 0x{ord(text[control]):02x}, at "
            f"position {control}",
        )
    return None


def explain(stage: str, error: BaseException, value: bytes | None = None) -> Reason:
    """The reason a record failed at ``stage`` ("parse" or "handle") with ``error``.

    ``value`` is the record's body, when known. Looks through the error's causes, so a
    ``ValueError`` raised from a ``UnicodeDecodeError`` still reads as "not text".
    """
    if stage == "handle":
        # The consumer's own code raised: its error type and message are the words.
        return Reason(HANDLER_FAILED, _shorten(f"{type(error).__name__}: {error}"))
    if isinstance(value, bytes | bytearray):
        binary = _not_text(bytes(value))
        if binary is not None:
            return binary
    causes = _chain(error)
    for cause in causes:
        if isinstance(cause, UnicodeDecodeError):
            if cause.encoding.replace("-", "").lower() == "utf8":
                where = (
                    f": byte 0x{cause.object[cause.start]:02x} at position {cause.start} "
                    "is not valid UTF-8"
                )
            else:
                # JSON parsers guess UTF-16 or UTF-32 from zero bytes: binary data.
                where = ": it holds zero bytes, as binary data does"
            return Reason(
                NOT_TEXT,
                "the record's body is not UTF-8 text (binary data or another character "
                f"set), so it can't be JSON{where}",
            )
    for cause in causes:
        if isinstance(cause, json.JSONDecodeError):
            return Reason(
                NOT_JSON,
                f"the record's body is text but not JSON: {cause.msg} at line {cause.lineno}, "
                f"column {cause.colno}",
            )
    for cause in causes:
        if isinstance(cause, ValidationError):
            return Reason(
                BREAKS_CONTRACT,
                _shorten(
                    "the record fails validation against the event's contract "
                    "(envelope or payload): " + _fields(cause)
                ),
            )
    text = str(error)
    if "tombstone" in text or "must be a JSON object" in text:
        return Reason(NOT_AN_EVENT, f"the record is not an event: {text}")
    if "not JSON" in text:
        return Reason(NOT_JSON, _shorten(f"the record's body is not JSON: {text}"))
    return Reason(
        NOT_AN_EVENT,
        _shorten(f"the record could not be read as an event ({type(error).__name__}: {text})"),
    )
