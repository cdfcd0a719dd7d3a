"""Structured logging for every service: one JSON line per event, personal data redacted.

Lines go to stderr with an ISO UTC ``timestamp``, the ``level``, the ``service`` and
whatever is bound in the context (``correlation_id``, ``case_id``: see :func:`log_context`).
Standard-library loggers (uvicorn, aiokafka, asyncpg) are routed through the same
processors, so a log file holds one format only.

Logs never contain personal data: :func:`redact_personal_data` replaces the value of every
key that names personal data, at any depth, before a line is rendered.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"

# The one list of keys whose values are personal data (matched case-insensitively).
# Free-text fields are here too: a school writes about the pupil in them.
PERSONAL_DATA_KEYS: frozenset[str] = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "given_name",
        "family_name",
        "initials",
        "pupil_name",
        "pupil_first_name",
        "pupil_last_name",
        "date_of_birth",
        "birth_date",
        "birthdate",
        "dob",
        "email",
        "email_address",
        "phone",
        "phone_number",
        "telephone",
        "mobile",
        "address",
        "street",
        "house_number",
        "postal_code",
        "postcode",
        "zip_code",
        "bsn",
        "citizen_service_number",
        "iban",
        "educational_need",
        "why_stuck",
        "tried_in_basic_support",
        "notes",
        "body",
    }
)
# Every key starting with one of these is personal data too (parent_name, parent_email, ...).
PERSONAL_DATA_PREFIXES: tuple[str, ...] = ("parent_", "guardian_", "pupil_name")

LogFormat = Literal["json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]


def is_personal_data_key(key: object) -> bool:
    """Whether a value stored under ``key`` is personal data and must not be logged."""
    if not isinstance(key, str):
        return False
    lowered = key.lower()
    return lowered in PERSONAL_DATA_KEYS or lowered.startswith(PERSONAL_DATA_PREFIXES)


def redact(value: Any) -> Any:
    """``value`` with every personal-data entry replaced by ``[redacted]``, recursively."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_personal_data_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, list | set | frozenset):
        return [redact(v) for v in value]
    return value


def redact_personal_data(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: replaces personal-data values in the whole event, at any depth."""
    for key, value in list(event_dict.items()):
        if key == "exc_info":  # the exception itself; rendered without locals
            continue
        if is_personal_data_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, Mapping | list | tuple | set | frozenset):
            event_dict[key] = redact(value)
    return event_dict


def _add_service(service: str) -> Processor:
    def add_service(
        logger: WrappedLogger, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def _leading_keys_first(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # Humans read these four first; the rest keeps its order.
    ordered = {k: event_dict.pop(k) for k in _LEADING_KEYS if k in event_dict}
    ordered.update(event_dict)
    return ordered


_LEADING_KEYS = ("timestamp", "level", "service", "event")


def _drop_color_message(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # uvicorn passes an ANSI-coloured copy of each message in ``extra``; one copy is enough.
    event_dict.pop("color_message", None)
    return event_dict


def shared_processors(service: str) -> list[Processor]:
    """The processors every line passes, from structlog or from a standard-library logger."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
        _drop_color_message,
    ]


def configure_logging(
    service: str,
    *,
    level: LogLevel = "info",
    fmt: LogFormat = "json",
    stream: TextIO | None = None,
) -> None:
    """Send structlog and standard-library logging to ``stream`` (stderr) in one format."""
    shared = shared_processors(service)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: tests swap the processors with structlog.testing.capture_logs.
        cache_logger_on_first_use=False,
    )
    renderer: Processor
    if fmt == "json":
        # Locals in tracebacks could hold personal data: never render them.
        exceptions: list[Processor] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        ]
        renderer = structlog.processors.JSONRenderer()
    else:
        exceptions = []
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # After every processor that adds values, so nothing escapes it.
            redact_personal_data,
            *exceptions,
            _leading_keys_first,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn installs its own handlers only with a log_config; make sure its lines and
    # those of the Kafka client reach the root handler and nothing else.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "aiokafka", "asyncpg"):
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
    access = logging.getLogger("uvicorn.access")
    for old_filter in list(access.filters):
        if isinstance(old_filter, QuietHealthChecks):
            access.removeFilter(old_filter)
    access.addFilter(QuietHealthChecks())


class QuietHealthChecks(logging.Filter):
    """Drops uvicorn's access lines for answered health checks (polled every few seconds).

    A failing check (status 500 and up) is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path, http version, status code)
        if isinstance(args, tuple) and len(args) == 5:
            path, status = str(args[2]), args[4]
            if path.startswith("/health/") and isinstance(status, int) and status < 500:
                return False
        return True


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; configured or not, it accepts key-value pairs."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind ``values`` (e.g. ``correlation_id``, ``case_id``) to every line in this block.

    Uses context variables, so concurrent requests and events don't see each other's.
    """
    with structlog.contextvars.bound_contextvars(**values):
        yield
